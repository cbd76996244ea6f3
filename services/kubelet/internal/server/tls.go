package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"skiff.dev/pkg/atomicfile"
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
	if cert == nil || time.Now().Add(24*time.Hour).After(cert.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

func selfSign(certFile, keyFile, node string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: node + "@" + time.Now().UTC().Format("20060102150405")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
