// Package certgen makes and reloads the small PKIs Skiff generates for
// itself (the apiserver's, the embedded etcd's): an ECDSA P-256 CA,
// certificates it signs, and the checks that decide whether a certificate
// on disk can stay. Keys are written mode 0600, each file through a
// temporary one so a crash never leaves half a file.
package certgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"time"

	"skiff.dev/pkg/atomicfile"
)

// LoadPair reads a certificate and its ECDSA key; os.ErrNotExist when
// either file is missing.
func LoadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		for _, f := range []string{certFile, keyFile} {
			if _, statErr := os.Stat(f); errors.Is(statErr, os.ErrNotExist) {
				return nil, nil, os.ErrNotExist
			}
		}
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyFile)
	}
	return pair.Leaf, key, nil
}

// Expiring says whether cert expires within a day.
func Expiring(cert *x509.Certificate) bool {
	return !cert.NotAfter.After(time.Now().Add(24 * time.Hour))
}

// Covers says whether cert is valid for every host (names and IPs).
func Covers(cert *x509.Certificate, hosts []string) bool {
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

// AddHosts puts hosts into tmpl's IP addresses or DNS names.
func AddHosts(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCA makes a self-signed CA named commonName, valid for ten years,
// and writes it.
func NewCA(certFile, keyFile, commonName string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: commonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := write(certFile, keyFile, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// Issue signs a new key's certificate, valid for a year, from tmpl's
// subject, names and extended key usages, and writes both.
func Issue(certFile, keyFile string, tmpl *x509.Certificate, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	return sign(certFile, keyFile, tmpl, ca, caKey)
}

// SelfSign makes a new key and a certificate for it, signed by itself and
// valid for a year, from tmpl's subject, names and usages, and writes
// both: a server's own certificate when no CA issues one.
func SelfSign(certFile, keyFile string, tmpl *x509.Certificate) error {
	return sign(certFile, keyFile, tmpl, nil, nil)
}

// sign makes a new key and its certificate from tmpl, valid for a year,
// signed by parent's key (by the new key itself when parent is nil), and
// writes both.
func sign(certFile, keyFile string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return err
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return err
	}
	return write(certFile, keyFile, der, key)
}

func write(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
