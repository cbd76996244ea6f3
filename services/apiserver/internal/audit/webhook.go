package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"sigs.k8s.io/yaml"
)

// WebhookConfig is the webhook backend's settings (--audit-webhook-*).
type WebhookConfig struct {
	// ConfigFile is a kubeconfig naming the HTTPS endpoint ("cluster")
	// and how to authenticate to it ("user").
	ConfigFile string
	// InitialBackoff is the wait before the first retry of a failed post;
	// each later one waits 1.5 times longer, five tries in all.
	InitialBackoff time.Duration
	// BufferSize events wait to be sent; more are dropped. A batch is
	// sent when it has BatchMaxSize events or its first is BatchMaxWait
	// old, at most ThrottleQPS batches a second (bursts of ThrottleBurst).
	BufferSize    int
	BatchMaxSize  int
	BatchMaxWait  time.Duration
	ThrottleQPS   float64
	ThrottleBurst int
}

// Validate checks the settings.
func (c WebhookConfig) Validate() []error {
	if c.ConfigFile == "" {
		return nil
	}
	var errs []error
	if c.InitialBackoff < 0 {
		errs = append(errs, fmt.Errorf("--audit-webhook-initial-backoff %s can't be negative", c.InitialBackoff))
	}
	if c.BufferSize <= 0 || c.BatchMaxSize <= 0 || c.BatchMaxWait <= 0 || c.ThrottleQPS <= 0 || c.ThrottleBurst <= 0 {
		errs = append(errs, errors.New("--audit-webhook-batch-buffer-size, -max-size, -max-wait, -throttle-qps and -throttle-burst must be positive"))
	}
	return errs
}

// Webhook posts events in batches, each an audit.k8s.io/v1 EventList, to
// the endpoint of a kubeconfig, as Kubernetes' webhook backend does in its
// default batch mode: requests never wait for it; when its buffer is full
// events are dropped.
type Webhook struct {
	cfg     WebhookConfig
	url     string
	client  *http.Client
	token   string
	limiter *rate.Limiter

	events   chan []byte
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	sending  sync.WaitGroup
	dropped  atomic.Int64
}

// NewWebhook reads the kubeconfig and starts sending.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	ep, err := loadEndpoint(c.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("audit webhook %s: %w", c.ConfigFile, err)
	}
	w := &Webhook{cfg: c, url: ep.url, token: ep.token,
		client:  &http.Client{Transport: &http.Transport{TLSClientConfig: ep.tls, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second},
		limiter: rate.NewLimiter(rate.Limit(c.ThrottleQPS), c.ThrottleBurst),
		events:  make(chan []byte, c.BufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// Process queues an event, dropping it when the buffer is full.
func (w *Webhook) Process(event []byte) bool {
	select {
	case <-w.stop:
		return false
	default:
	}
	select {
	case w.events <- event:
	default:
		if w.dropped.Add(1)%1000 == 1 {
			slog.Warn("audit webhook buffer full, dropping events", "dropped", w.dropped.Load())
		}
	}
	return true
}

// run gathers batches and sends each in its own goroutine.
func (w *Webhook) run() {
	defer close(w.done)
	for {
		batch, stopping := w.collect()
		if len(batch) > 0 {
			if !stopping {
				_ = w.limiter.Wait(context.Background())
			}
			w.sending.Add(1)
			go func() {
				defer w.sending.Done()
				w.send(batch)
			}()
		}
		if stopping {
			return
		}
	}
}

// collect waits for a batch: BatchMaxSize events, or what came within
// BatchMaxWait of the first; stopping says the backend is shutting down
// (the batch then holds everything still buffered).
func (w *Webhook) collect() (batch [][]byte, stopping bool) {
	var timer <-chan time.Time
	for {
		select {
		case ev := <-w.events:
			batch = append(batch, ev)
			if len(batch) == 1 {
				timer = time.After(w.cfg.BatchMaxWait)
			}
			if len(batch) >= w.cfg.BatchMaxSize {
				return batch, false
			}
		case <-timer:
			return batch, false
		case <-w.stop:
			for {
				select {
				case ev := <-w.events:
					batch = append(batch, ev)
				default:
					return batch, true
				}
			}
		}
	}
}

// send posts a batch (in pieces of BatchMaxSize), retrying failures with
// backoff.
func (w *Webhook) send(batch [][]byte) {
	for len(batch) > 0 {
		n := min(len(batch), w.cfg.BatchMaxSize)
		body := encodeList(batch[:n])
		batch = batch[n:]
		delay := w.cfg.InitialBackoff
		var err error
		for try := 1; ; try++ {
			if err = w.post(body); err == nil || try == 5 {
				break
			}
			select {
			case <-time.After(delay + time.Duration(rand.Float64()*0.2*float64(delay))):
			case <-w.stop:
				try = 4 // shutting down: one last try, now
			}
			delay = delay * 3 / 2
		}
		if err != nil {
			slog.Error("audit webhook: events lost", "events", n, "err", err)
		}
	}
}

// encodeList is an EventList of encoded events.
func encodeList(events [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"EventList","apiVersion":"` + APIVersion + `","metadata":{},"items":[`)
	for i, ev := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (w *Webhook) post(body []byte) error {
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s: %s", w.url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Shutdown sends what is buffered and waits for the posts under way, or
// gives up when ctx ends.
func (w *Webhook) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stop) })
	all := make(chan struct{})
	go func() { <-w.done; w.sending.Wait(); close(all) }()
	select {
	case <-all:
		w.client.CloseIdleConnections()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endpoint is where and how the webhook posts.
type endpoint struct {
	url   string
	tls   *tls.Config
	token string
}

// webhookKubeconfig is the part of a kubeconfig the webhook reads.
type webhookKubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
			TLSServerName            string `json:"tls-server-name"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData string `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         string `json:"client-key-data"`
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
}

// loadEndpoint reads the current context's cluster and user (the first
// ones when the file names no current context).
func loadEndpoint(path string) (endpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return endpoint{}, err
	}
	var kc webhookKubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return endpoint{}, err
	}
	clusterName, userName := "", ""
	for i, c := range kc.Contexts {
		if c.Name == kc.CurrentContext || (kc.CurrentContext == "" && i == 0) {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	if kc.CurrentContext != "" && clusterName == "" {
		return endpoint{}, fmt.Errorf("no context %q", kc.CurrentContext)
	}
	if len(kc.Clusters) == 0 {
		return endpoint{}, errors.New("no cluster")
	}
	cluster := kc.Clusters[0].Cluster
	for _, c := range kc.Clusters {
		if c.Name == clusterName {
			cluster = c.Cluster
		}
	}
	u, err := url.Parse(cluster.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return endpoint{}, fmt.Errorf("server %q is not an https URL", cluster.Server)
	}
	ep := endpoint{url: cluster.Server, tls: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cluster.TLSServerName,
		InsecureSkipVerify: cluster.InsecureSkipTLSVerify}} //nolint:gosec // the kubeconfig asks for it
	ca, err := inlineOrFile(cluster.CertificateAuthorityData, cluster.CertificateAuthority)
	if err != nil {
		return endpoint{}, fmt.Errorf("certificate authority: %w", err)
	}
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return endpoint{}, errors.New("certificate authority: no PEM certificate")
		}
		ep.tls.RootCAs = pool
	}
	for i, u := range kc.Users {
		if u.Name != userName && !(userName == "" && i == 0) {
			continue
		}
		cert, err := inlineOrFile(u.User.ClientCertificateData, u.User.ClientCertificate)
		if err != nil {
			return endpoint{}, fmt.Errorf("client certificate: %w", err)
		}
		key, err := inlineOrFile(u.User.ClientKeyData, u.User.ClientKey)
		if err != nil {
			return endpoint{}, fmt.Errorf("client key: %w", err)
		}
		if cert != nil || key != nil {
			pair, err := tls.X509KeyPair(cert, key)
			if err != nil {
				return endpoint{}, fmt.Errorf("client certificate: %w", err)
			}
			ep.tls.Certificates = []tls.Certificate{pair}
		}
		ep.token = u.User.Token
		if u.User.TokenFile != "" {
			tok, err := os.ReadFile(u.User.TokenFile)
			if err != nil {
				return endpoint{}, err
			}
			ep.token = strings.TrimSpace(string(tok))
		}
		break
	}
	return ep, nil
}

// inlineOrFile is base64 data when given, else the file's content, else nil.
func inlineOrFile(data, file string) ([]byte, error) {
	switch {
	case data != "":
		return base64.StdEncoding.DecodeString(data)
	case file != "":
		return os.ReadFile(file)
	}
	return nil, nil
}
