package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Certificates authenticates a client certificate as Kubernetes does: a
// certificate chain that verifies to one of the client CAs, for client
// authentication, names the user in its subject's common name and the
// groups in its organizations.
type Certificates struct {
	Roots *x509.CertPool
	// Now is the clock certificates are checked against; nil is time.Now.
	Now func() time.Time
}

// AuthenticateCertificates checks the chain a client presented (leaf
// first). ok is false when there is none; err says why one was refused.
func (c *Certificates) AuthenticateCertificates(chain []*x509.Certificate) (u User, ok bool, err error) {
	if c == nil || len(chain) == 0 {
		return User{}, false, nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	intermediates := x509.NewCertPool()
	for _, cert := range chain[1:] {
		intermediates.AddCert(cert)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: c.Roots, Intermediates: intermediates, CurrentTime: now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return User{}, false, fmt.Errorf("client certificate %q: %w", leaf.Subject.CommonName, err)
	}
	if leaf.Subject.CommonName == "" {
		return User{}, false, errors.New("client certificate without a common name")
	}
	return User{Name: leaf.Subject.CommonName, Groups: append([]string(nil), leaf.Subject.Organization...)}, true, nil
}
