package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
)

// ServiceResolver finds the address (host:port) to dial for a webhook
// given by a service reference; port is the Service's port.
type ServiceResolver interface {
	ResolveEndpoint(ctx context.Context, namespace, name string, port int32) (string, error)
}

// maxClients bounds the clients kept; past it they are all dropped (and
// their idle connections closed) and made again as needed.
const maxClients = 200

// maxResponse bounds a webhook's answer.
const maxResponse = 16 << 20

// clients are the HTTPS clients of the webhooks, one per distinct client
// configuration (where, and which CAs to trust), kept so connections are
// reused from one write to the next.
type clients struct {
	resolver ServiceResolver
	mu       sync.Mutex
	byKey    map[string]*client
}

type client struct {
	http *http.Client
	// url is where reviews are posted (without the timeout parameter).
	url string
}

func newClients(r ServiceResolver) *clients {
	return &clients{resolver: r, byKey: map[string]*client{}}
}

func (cs *clients) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.byKey {
		c.http.CloseIdleConnections()
	}
	cs.byKey = map[string]*client{}
}

// get returns the client of a webhook's client configuration. Its error
// says why none can be made (a CA bundle without a certificate, a URL
// that does not parse).
func (cs *clients) get(cc *admissionregistrationv1.WebhookClientConfig) (*client, error) {
	key := clientKey(cc)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byKey[key]; ok {
		return c, nil
	}
	c, err := cs.newClient(cc)
	if err != nil {
		return nil, err
	}
	if len(cs.byKey) >= maxClients {
		for _, old := range cs.byKey {
			old.http.CloseIdleConnections()
		}
		cs.byKey = map[string]*client{}
	}
	cs.byKey[key] = c
	return c, nil
}

func clientKey(cc *admissionregistrationv1.WebhookClientConfig) string {
	sum := sha256.Sum256(cc.GetCaBundle())
	svc := cc.GetService()
	return fmt.Sprintf("%q %q %q %q %d %s", cc.GetUrl(), svc.GetNamespace(), svc.GetName(), svc.GetPath(), svc.GetPort(), hex.EncodeToString(sum[:]))
}

func (cs *clients) newClient(cc *admissionregistrationv1.WebhookClientConfig) (*client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := cc.GetCaBundle(); len(ca) > 0 {
		// As Kubernetes' clients: the bundle alone is trusted; without
		// one, the system's roots are.
		if err := crdnames.CABundleError(ca); err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &client{http: &http.Client{Transport: tr}}
	if svc := cc.GetService(); svc != nil {
		// A service is asked for by its DNS name, which its serving
		// certificate names; the connection goes where the resolver says.
		port := svc.GetPort()
		if port == 0 {
			port = 443
		}
		serverName := svc.GetName() + "." + svc.GetNamespace() + ".svc"
		host := net.JoinHostPort(serverName, strconv.Itoa(int(port)))
		tlsConfig.ServerName = serverName
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == host {
				if cs.resolver == nil {
					return nil, fmt.Errorf("service %s/%s: no service resolver", svc.GetNamespace(), svc.GetName())
				}
				resolved, err := cs.resolver.ResolveEndpoint(ctx, svc.GetNamespace(), svc.GetName(), port)
				if err != nil {
					return nil, err
				}
				addr = resolved
			}
			return dialer.DialContext(ctx, network, addr)
		}
		c.url = "https://" + host + svc.GetPath()
		return c, nil
	}
	u, err := url.Parse(cc.GetUrl())
	if err != nil {
		return nil, fmt.Errorf("Unparsable URL: %v", err) //nolint:staticcheck // Kubernetes' words
	}
	c.url = u.Scheme + "://" + u.Host + u.EscapedPath()
	return c, nil
}

// post sends a review and decodes the answer. Its errors are what
// Kubernetes' webhook client reports after "failed to call webhook: ".
func (c *client) post(ctx context.Context, body []byte, into *admissionReview) error {
	target := c.url
	if deadline, ok := ctx.Deadline(); ok {
		// Tell the webhook how long it has, in whole seconds rounded up,
		// as Kubernetes does.
		if d := time.Until(deadline); d > 0 {
			if t := d.Truncate(time.Second); t != d {
				d = t + time.Second
			}
			target += "?timeout=" + d.String()
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, */*")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return err
	}
	if len(data) > maxResponse {
		return fmt.Errorf("the webhook's response is larger than %d bytes", maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 206 {
		return responseError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("decoding the webhook's response: %w", err)
	}
	return nil
}

// responseError says what an answer that is not a success says, as
// Kubernetes' REST client words it.
func responseError(code int, body []byte) error {
	var st struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return errors.New(st.Message)
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return fmt.Errorf("the server responded with the status code %d but did not return more information", code)
	case code >= 500:
		return fmt.Errorf("an error on the server (%q) has prevented the request from succeeding", truncate(body))
	}
	return fmt.Errorf("the server responded with the status code %d: %s", code, truncate(body))
}

func truncate(b []byte) string {
	const max = 256
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
