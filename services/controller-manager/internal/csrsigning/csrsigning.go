// Package csrsigning signs approved certificate requests with the cluster
// CA (--cluster-signing-cert-file and --cluster-signing-key-file), as
// Kubernetes' csrsigning controller does for its built-in signers:
// kubernetes.io/kube-apiserver-client-kubelet (kubelets' client
// certificates), kubernetes.io/kube-apiserver-client (any client) and
// kubernetes.io/kubelet-serving (kubelets' serving certificates). A request
// that is approved, not denied and not failed gets a certificate for its
// subject, names and usages, valid from five minutes ago for
// --cluster-signing-duration or the shorter spec.expirationSeconds (at
// least ten minutes), never past the CA's own expiry; one that breaks its
// signer's rules gets the Failed condition instead. The CA files are read
// at each signing, so a renewed CA is used without a restart.
package csrsigning

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csr"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers, Kubernetes'.
const Name = "csrsigning"

// DefaultDuration is --cluster-signing-duration's default: a year.
const DefaultDuration = 365 * 24 * time.Hour

// minDuration is the shortest certificate signed, whatever is asked.
const minDuration = 10 * time.Minute

// backdate makes a new certificate valid a little before now, for clocks
// that lag; short is the lifetime under which it is not taken off the end.
const (
	backdate = 5 * time.Minute
	short    = 8 * time.Hour
)

// Config is where the CA is and how long certificates last.
type Config struct {
	CertFile, KeyFile string
	// Duration is the longest lifetime signed.
	Duration time.Duration
	Workers  int
}

// Controller signs; its keys are request names.
type Controller struct {
	*controller.Controller
	cfg    Config
	csrs   *informer.Informer[*certificatesv1.CertificateSigningRequest]
	client *client.Resource[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList]
	now    func() time.Time
}

// New checks that the CA can be read and wires the controller to the
// shared informer; its writes go through c.
func New(c *client.Client, f *informers.Factory, cfg Config) (*Controller, error) {
	if _, err := LoadCA(cfg.CertFile, cfg.KeyFile); err != nil {
		return nil, err
	}
	sc := &Controller{
		cfg:    cfg,
		csrs:   informers.For[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList](f),
		client: c.CertificatesV1().CertificateSigningRequests().Resource,
		now:    time.Now,
	}
	sc.Controller = &controller.Controller{Name: Name, Workers: cfg.Workers, Reconciler: controller.ReconcileFunc(sc.reconcile),
		Keys: func() []string {
			var out []string
			for _, r := range sc.csrs.Store().List() {
				out = append(out, r.GetMetadata().GetName())
			}
			return out
		}}
	enqueue := func(r *certificatesv1.CertificateSigningRequest) { sc.Enqueue(r.GetMetadata().GetName()) }
	sc.csrs.AddHandler(informer.Handler[*certificatesv1.CertificateSigningRequest]{OnAdd: enqueue,
		OnUpdate: func(_, r *certificatesv1.CertificateSigningRequest) { enqueue(r) }})
	return sc, nil
}

// CA is a signing certificate and its key.
type CA struct {
	Certificate *x509.Certificate
	Key         crypto.Signer
}

// LoadCA reads a CA certificate and its key (PEM).
func LoadCA(certFile, keyFile string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("the cluster signing CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("the cluster signing CA: %w", err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("the cluster signing CA: the key cannot sign")
	}
	return &CA{Certificate: cert, Key: key}, nil
}

// checks are the signers this controller signs for and what each
// requires of a request.
var checks = map[string]func(req *x509.CertificateRequest, usages []string) error{
	csr.KubeAPIServerClientKubelet: csr.ValidateKubeletClient,
	csr.KubeAPIServerClient:        func(_ *x509.CertificateRequest, usages []string) error { return clientUsages(usages) },
	csr.KubeletServing:             csr.ValidateKubeletServing,
}

// clientUsages allows a client certificate's usages only, client auth
// among them.
func clientUsages(usages []string) error {
	for _, u := range usages {
		if u != csr.UsageDigitalSignature && u != csr.UsageKeyEncipherment && u != csr.UsageClientAuth {
			return fmt.Errorf("invalid usage for client certificate: %s", u)
		}
	}
	if !slices.Contains(usages, csr.UsageClientAuth) {
		return fmt.Errorf("missing required usage for client certificate: %s", csr.UsageClientAuth)
	}
	return nil
}

func (sc *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	r, ok := sc.csrs.Store().Get(name)
	if !ok || len(r.GetStatus().GetCertificate()) > 0 {
		return 0, nil
	}
	approved, denied := csr.ApprovalOf(r)
	if !approved || denied || csr.HasTrueCondition(r, csr.Failed) {
		return 0, nil
	}
	check, ours := checks[r.GetSpec().GetSignerName()]
	if !ours {
		return 0, nil
	}
	req, err := csr.ParseRequest(r.GetSpec().GetRequest())
	if err != nil {
		return 0, fmt.Errorf("unable to parse csr %q: %w", name, err)
	}
	out := proto.Clone(r).(*certificatesv1.CertificateSigningRequest)
	if err := check(req, r.GetSpec().GetUsages()); err != nil {
		out.Status.Conditions = append(out.Status.Conditions, &certificatesv1.CertificateSigningRequestCondition{
			Type: csr.Failed, Status: "True", Reason: "SignerValidationFailure", Message: err.Error(),
			LastUpdateTime: timestamppb.New(sc.now().Truncate(time.Second)),
		})
		if _, err := sc.client.UpdateStatus(ctx, out, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
			return 0, fmt.Errorf("error adding failure condition for csr %q: %w", name, err)
		}
		return 0, nil
	}
	ca, err := LoadCA(sc.cfg.CertFile, sc.cfg.KeyFile)
	if err != nil {
		return 0, err
	}
	cert, err := Sign(ca, req, r.GetSpec().GetUsages(), sc.Lifetime(r.GetSpec().ExpirationSeconds), sc.now())
	if err != nil {
		return 0, fmt.Errorf("error auto signing csr %q: %w", name, err)
	}
	out.Status.Certificate = cert
	if _, err := sc.client.UpdateStatus(ctx, out, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("error updating signature for csr %q: %w", name, err)
	}
	return 0, nil
}

// Lifetime is how long a certificate signed for a request lasts: the
// configured duration, or the requested one when shorter, but at least
// ten minutes.
func (sc *Controller) Lifetime(expirationSeconds *int32) time.Duration {
	return lifetime(sc.cfg.Duration, expirationSeconds)
}

func lifetime(max time.Duration, expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return max
	}
	asked := time.Duration(*expirationSeconds) * time.Second
	switch {
	case asked > max:
		return max
	case asked < minDuration:
		return minDuration
	}
	return asked
}

// Sign issues the certificate of a request: its subject, names and public
// key, the usages as key usages and extended key usages, not a CA, valid
// from five minutes before now for ttl (less those five minutes for
// lifetimes of eight hours or more, so the lifetime stays ttl) and never
// past the CA's expiry. It returns the certificate as PEM.
func Sign(ca *CA, req *x509.CertificateRequest, usages []string, ttl time.Duration, now time.Time) ([]byte, error) {
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("unable to verify certificate request signature: %w", err)
	}
	keyUsage, extUsages, err := KeyUsages(usages)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: req.Subject,
		DNSNames: req.DNSNames, IPAddresses: req.IPAddresses, EmailAddresses: req.EmailAddresses, URIs: req.URIs,
		KeyUsage: keyUsage, ExtKeyUsage: extUsages, BasicConstraintsValid: true, IsCA: false,
		NotBefore: now.Add(-backdate),
	}
	if ttl < short {
		tmpl.NotAfter = now.Add(ttl)
	} else {
		tmpl.NotAfter = now.Add(ttl - backdate)
	}
	caExpiry := ca.Certificate.NotAfter
	if !now.Before(caExpiry) {
		return nil, fmt.Errorf("refusing to sign a certificate that expired in the past: NotAfter=%v", caExpiry)
	}
	if !tmpl.NotAfter.Before(caExpiry) {
		tmpl.NotAfter = caExpiry
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, req.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("failed to sign certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

var (
	keyUsages = map[string]x509.KeyUsage{
		"signing": x509.KeyUsageDigitalSignature, "digital signature": x509.KeyUsageDigitalSignature,
		"content commitment": x509.KeyUsageContentCommitment, "key encipherment": x509.KeyUsageKeyEncipherment,
		"key agreement": x509.KeyUsageKeyAgreement, "data encipherment": x509.KeyUsageDataEncipherment,
		"cert sign": x509.KeyUsageCertSign, "crl sign": x509.KeyUsageCRLSign,
		"encipher only": x509.KeyUsageEncipherOnly, "decipher only": x509.KeyUsageDecipherOnly,
	}
	extKeyUsages = map[string]x509.ExtKeyUsage{
		"any": x509.ExtKeyUsageAny, "server auth": x509.ExtKeyUsageServerAuth, "client auth": x509.ExtKeyUsageClientAuth,
		"code signing": x509.ExtKeyUsageCodeSigning, "email protection": x509.ExtKeyUsageEmailProtection,
		"s/mime": x509.ExtKeyUsageEmailProtection, "ipsec end system": x509.ExtKeyUsageIPSECEndSystem,
		"ipsec tunnel": x509.ExtKeyUsageIPSECTunnel, "ipsec user": x509.ExtKeyUsageIPSECUser,
		"timestamping": x509.ExtKeyUsageTimeStamping, "ocsp signing": x509.ExtKeyUsageOCSPSigning,
		"microsoft sgc": x509.ExtKeyUsageMicrosoftServerGatedCrypto, "netscape sgc": x509.ExtKeyUsageNetscapeServerGatedCrypto,
	}
)

// KeyUsages turns a request's usages into the certificate's key usage bits
// and its extended key usages (each once, in their numeric order).
func KeyUsages(usages []string) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var bits x509.KeyUsage
	var ext []x509.ExtKeyUsage
	var unknown []string
	for _, u := range usages {
		if b, ok := keyUsages[u]; ok {
			bits |= b
		} else if e, ok := extKeyUsages[u]; ok {
			ext = append(ext, e)
		} else {
			unknown = append(unknown, u)
		}
	}
	if len(unknown) > 0 {
		return 0, nil, fmt.Errorf("unrecognized usage values: %q", unknown)
	}
	slices.Sort(ext)
	return bits, slices.Compact(ext), nil
}
