package server

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"skiff.dev/pkg/certgen"
)

// servingCertificate loads --tls-cert-file, or a self-signed certificate
// for the node's name and IP from PKIDir, made anew when missing, expiring
// or not covering them.
func servingCertificate(cfg Config) (tls.Certificate, error) {
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return pair, fmt.Errorf("--tls-cert-file: %w", err)
		}
		return pair, nil
	}
	certFile, keyFile := filepath.Join(cfg.PKIDir, "kubelet.crt"), filepath.Join(cfg.PKIDir, "kubelet.key")
	hosts := certHosts(cfg)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && usable(pair.Leaf, hosts) {
		return pair, nil
	}
	if err := os.MkdirAll(cfg.PKIDir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("kubelet certificate directory: %w", err)
	}
	if err := selfSign(certFile, keyFile, cfg.NodeName, hosts); err != nil {
		return tls.Certificate{}, fmt.Errorf("generate the kubelet's serving certificate: %w", err)
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

// certHosts are the names and addresses the generated certificate covers.
func certHosts(cfg Config) []string {
	hosts := []string{cfg.NodeName}
	if h, err := os.Hostname(); err == nil && h != cfg.NodeName {
		hosts = append(hosts, h)
	}
	if cfg.NodeIP != "" {
		hosts = append(hosts, cfg.NodeIP)
	}
	return hosts
}

func usable(cert *x509.Certificate, hosts []string) bool {
	return cert != nil && !certgen.Expiring(cert) && certgen.Covers(cert, hosts)
}

// selfSign writes a self-signed serving certificate for the node, named
// as the kubelet names its own (node@timestamp).
func selfSign(certFile, keyFile, node string, hosts []string) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: node + "@" + time.Now().UTC().Format("20060102150405")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	certgen.AddHosts(tmpl, hosts)
	return certgen.SelfSign(certFile, keyFile, tmpl)
}
