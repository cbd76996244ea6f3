// Package csr is what the clients and controllers of
// certificates.k8s.io/v1 CertificateSigningRequests share: Kubernetes'
// signer names, how a kubelet's client and serving requests must look, the
// approval conditions, and a client's side of asking for a certificate
// (create the request, wait until it is issued), as client-go's
// util/certificate/csr does.
package csr

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	certificatesv1 "skiff.dev/api/certificates/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// Kubernetes' built-in signers.
const (
	// KubeAPIServerClient signs client certificates for any user the
	// apiserver trusts; never approved automatically.
	KubeAPIServerClient = "kubernetes.io/kube-apiserver-client"
	// KubeAPIServerClientKubelet signs kubelets' client certificates
	// (system:node:<name> in system:nodes), approved automatically.
	KubeAPIServerClientKubelet = "kubernetes.io/kube-apiserver-client-kubelet"
	// KubeletServing signs kubelets' serving certificates.
	KubeletServing = "kubernetes.io/kubelet-serving"
)

// Condition types.
const (
	Approved = "Approved"
	Denied   = "Denied"
	Failed   = "Failed"
)

// Key usages a kubelet asks for.
const (
	UsageDigitalSignature = "digital signature"
	UsageKeyEncipherment  = "key encipherment"
	UsageClientAuth       = "client auth"
	UsageServerAuth       = "server auth"
)

// NodesGroup is the organization of every kubelet certificate, and
// NodeUserPrefix the start of its common name.
const (
	NodesGroup     = "system:nodes"
	NodeUserPrefix = "system:node:"
)

// ParseRequest reads the PKCS#10 request of a PEM "CERTIFICATE REQUEST"
// block.
func ParseRequest(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// sameSet tells whether usages hold exactly the wanted usages.
func sameSet(usages []string, want ...string) bool {
	u := slices.Clone(usages)
	slices.Sort(u)
	u = slices.Compact(u)
	slices.Sort(want)
	return slices.Equal(u, want)
}

// ValidateKubeletClient is nil when a request is a kubelet's client
// request: subject system:node:<name> in exactly system:nodes, no subject
// alternative names, and the usages digital signature and client auth
// (and key encipherment, which only RSA keys need).
func ValidateKubeletClient(req *x509.CertificateRequest, usages []string) error {
	switch {
	case !slices.Equal(req.Subject.Organization, []string{NodesGroup}):
		return errors.New("subject organization is not system:nodes")
	case len(req.DNSNames) > 0:
		return errors.New("DNS subjectAltNames are not allowed")
	case len(req.EmailAddresses) > 0:
		return errors.New("Email subjectAltNames are not allowed")
	case len(req.IPAddresses) > 0:
		return errors.New("IP subjectAltNames are not allowed")
	case len(req.URIs) > 0:
		return errors.New("URI subjectAltNames are not allowed")
	case !strings.HasPrefix(req.Subject.CommonName, NodeUserPrefix):
		return errors.New("subject common name does not begin with system:node:")
	case !sameSet(usages, UsageDigitalSignature, UsageKeyEncipherment, UsageClientAuth) && !sameSet(usages, UsageDigitalSignature, UsageClientAuth):
		return fmt.Errorf("usages did not match %v", []string{UsageClientAuth, UsageDigitalSignature, UsageKeyEncipherment})
	}
	return nil
}

// ValidateKubeletServing is nil when a request is a kubelet's serving
// request: in exactly system:nodes, with DNS or IP names and no others,
// the usages digital signature and server auth (and key encipherment),
// and a system:node:<name> subject.
func ValidateKubeletServing(req *x509.CertificateRequest, usages []string) error {
	switch {
	case !slices.Equal(req.Subject.Organization, []string{NodesGroup}):
		return errors.New("subject organization is not system:nodes")
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return errors.New("DNS or IP subjectAltName is required")
	case len(req.EmailAddresses) > 0:
		return errors.New("Email subjectAltNames are not allowed")
	case len(req.URIs) > 0:
		return errors.New("URI subjectAltNames are not allowed")
	case !sameSet(usages, UsageDigitalSignature, UsageKeyEncipherment, UsageServerAuth) && !sameSet(usages, UsageDigitalSignature, UsageServerAuth):
		return fmt.Errorf("usages did not match %v", []string{UsageDigitalSignature, UsageKeyEncipherment, UsageServerAuth})
	case !strings.HasPrefix(req.Subject.CommonName, NodeUserPrefix):
		return errors.New("subject common name does not begin with system:node:")
	}
	return nil
}

// ApprovalOf tells whether a request has an Approved and a Denied
// condition.
func ApprovalOf(r *certificatesv1.CertificateSigningRequest) (approved, denied bool) {
	for _, c := range r.GetStatus().GetConditions() {
		switch c.GetType() {
		case Approved:
			approved = true
		case Denied:
			denied = true
		}
	}
	return approved, denied
}

// HasTrueCondition tells whether a request has a condition of type t that
// is True (or has no status, as old objects may).
func HasTrueCondition(r *certificatesv1.CertificateSigningRequest, t string) bool {
	for _, c := range r.GetStatus().GetConditions() {
		if c.GetType() == t && (c.GetStatus() == "" || c.GetStatus() == "True") {
			return true
		}
	}
	return false
}

// Requests is what asking for a certificate needs of a client.
type Requests interface {
	Create(ctx context.Context, obj *certificatesv1.CertificateSigningRequest, opts client.WriteOptions) (*certificatesv1.CertificateSigningRequest, error)
	Get(ctx context.Context, name string) (*certificatesv1.CertificateSigningRequest, error)
	Watch(ctx context.Context, opts client.ListOptions) (client.Watcher[*certificatesv1.CertificateSigningRequest], error)
}

// Request creates a request for a certificate of the PEM request
// pemRequest from signer, named name (or generated from "csr-" when name
// is empty), for duration when it is not zero. A request of that name
// that exists already is taken when it carries the same PKCS#10 request
// (a kubelet that restarted while waiting). It returns the request's name
// and uid.
func Request(ctx context.Context, c Requests, pemRequest []byte, name, signer string, duration time.Duration, usages []string) (string, string, error) {
	r := &certificatesv1.CertificateSigningRequest{
		Metadata: &metav1.ObjectMeta{Name: name},
		Spec:     &certificatesv1.CertificateSigningRequestSpec{Request: pemRequest, SignerName: signer, Usages: usages},
	}
	if name == "" {
		r.Metadata.GenerateName = "csr-"
	}
	if duration > 0 {
		s := int32(duration / time.Second)
		r.Spec.ExpirationSeconds = &s
	}
	out, err := c.Create(ctx, r, client.WriteOptions{})
	switch {
	case err == nil:
		return out.GetMetadata().GetName(), out.GetMetadata().GetUid(), nil
	case client.IsAlreadyExists(err) && name != "":
		existing, err := c.Get(ctx, name)
		if err != nil {
			return "", "", fmt.Errorf("read the certificate signing request %s: %w", name, err)
		}
		if string(existing.GetSpec().GetRequest()) != string(pemRequest) || existing.GetSpec().GetSignerName() != signer {
			return "", "", fmt.Errorf("the certificate signing request %s exists and asks for another certificate", name)
		}
		return name, existing.GetMetadata().GetUid(), nil
	default:
		return "", "", fmt.Errorf("create a certificate signing request: %w", err)
	}
}

// WaitForCertificate waits until the request name (of uid) is approved
// and issued and returns its certificate; a denied or failed request, or
// one deleted or replaced, is an error. Watches that end are opened again
// until ctx ends.
func WaitForCertificate(ctx context.Context, c Requests, name, uid string) ([]byte, error) {
	for {
		cert, done, err := waitOnce(ctx, c, name, uid)
		if done || err != nil {
			return cert, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the certificate of %s: %w", name, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// waitOnce reads the request, then follows its watch until it is issued
// (done), fails (err) or the watch ends (neither).
func waitOnce(ctx context.Context, c Requests, name, uid string) ([]byte, bool, error) {
	r, err := c.Get(ctx, name)
	if err != nil {
		if client.IsNotFound(err) {
			return nil, true, fmt.Errorf("the certificate signing request %s was deleted", name)
		}
		return nil, false, nil
	}
	if cert, done, err := issued(r, uid); done || err != nil {
		return cert, done, err
	}
	w, err := c.Watch(ctx, client.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: r.GetMetadata().GetResourceVersion()})
	if err != nil {
		return nil, false, nil
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, true, fmt.Errorf("waiting for the certificate of %s: %w", name, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == client.Error {
				return nil, false, nil
			}
			switch ev.Type {
			case client.Deleted:
				return nil, true, fmt.Errorf("the certificate signing request %s was deleted", name)
			case client.Added, client.Modified:
				if cert, done, err := issued(ev.Object, uid); done || err != nil {
					return cert, done, err
				}
			}
		}
	}
}

// issued reads a request's outcome.
func issued(r *certificatesv1.CertificateSigningRequest, uid string) ([]byte, bool, error) {
	if r.GetMetadata().GetUid() != uid {
		return nil, true, fmt.Errorf("the certificate signing request %s changed uids", r.GetMetadata().GetName())
	}
	approved := false
	for _, c := range r.GetStatus().GetConditions() {
		switch c.GetType() {
		case Denied:
			return nil, true, fmt.Errorf("the certificate signing request is denied, reason: %s, message: %s", c.GetReason(), c.GetMessage())
		case Failed:
			return nil, true, fmt.Errorf("the certificate signing request failed, reason: %s, message: %s", c.GetReason(), c.GetMessage())
		case Approved:
			approved = true
		}
	}
	if approved && len(r.GetStatus().GetCertificate()) > 0 {
		return r.GetStatus().GetCertificate(), true, nil
	}
	return nil, false, nil
}
