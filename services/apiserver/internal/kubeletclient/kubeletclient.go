// Package kubeletclient reaches the kubelets' HTTPS servers, to which the
// apiserver proxies the pods' log, exec, attach and portforward
// subresources: where a node's kubelet listens, and a transport that
// authenticates with the apiserver's kubelet client certificate.
package kubeletclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	corev1 "skiff.dev/api/core/v1"
)

// Config are the apiserver's --kubelet-* flags.
type Config struct {
	// CertFile and KeyFile are the client certificate shown to kubelets;
	// without them the apiserver connects anonymously (and kubelets refuse).
	CertFile, KeyFile string
	// CAFile verifies the kubelets' serving certificates; without it they
	// are not verified, as Kubernetes does by default.
	CAFile string
}

// Client reaches kubelets.
type Client struct {
	transport *http.Transport
}

// New loads the certificates.
func New(cfg Config) (*Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kubelet-certificate-authority %s: no PEM certificates in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	} else {
		tc.InsecureSkipVerify = true //nolint:gosec // Kubernetes' default without --kubelet-certificate-authority.
	}
	// HTTP/1.1 only: upgrades (exec, attach, port-forward) need it.
	t := &http.Transport{
		TLSClientConfig: tc, Proxy: nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 10,
	}
	return &Client{transport: t}, nil
}

// addressTypes are the node addresses tried, in order.
var addressTypes = []string{"InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "Hostname"}

// ErrNoAddress says a node reports no address or kubelet port yet.
var ErrNoAddress = errors.New("node reports no address for its kubelet")

// Location returns the base URL of the node's kubelet and the transport
// to reach it.
func (c *Client) Location(node *corev1.Node) (*url.URL, http.RoundTripper, error) {
	port := node.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort()
	if port <= 0 {
		return nil, nil, fmt.Errorf("node %s: %w (status.daemonEndpoints.kubeletEndpoint.port is unset)", node.GetMetadata().GetName(), ErrNoAddress)
	}
	for _, t := range addressTypes {
		for _, a := range node.GetStatus().GetAddresses() {
			if a.GetType() == t && a.GetAddress() != "" {
				u := &url.URL{Scheme: "https", Host: net.JoinHostPort(a.GetAddress(), strconv.Itoa(int(port)))}
				return u, c.transport, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("node %s: %w (status.addresses is empty)", node.GetMetadata().GetName(), ErrNoAddress)
}
