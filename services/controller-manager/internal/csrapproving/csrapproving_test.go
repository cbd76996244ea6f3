package csrapproving

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	authorizationv1 "skiff.dev/api/authorization/v1"
	certificatesv1 "skiff.dev/api/certificates/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/csr"
)

func request(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, crypto.Signer(key))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// allows answers reviews: allowed for the subresources listed, and records
// what was asked.
type allows struct {
	subresources map[string]bool
	asked        []*authorizationv1.SubjectAccessReview
}

func (a *allows) review(_ context.Context, r *authorizationv1.SubjectAccessReview) (bool, error) {
	a.asked = append(a.asked, r)
	return a.subresources[r.GetSpec().GetResourceAttributes().GetSubresource()], nil
}

func TestDecide(t *testing.T) {
	node := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}
	clientUsages := []string{"digital signature", "client auth"}
	for _, tc := range []struct {
		name     string
		tmpl     *x509.CertificateRequest
		signer   string
		usages   []string
		user     string
		allowed  map[string]bool
		approved bool
		tried    []string // subresources reviewed
		err      string
	}{
		{name: "a new node with a bootstrap token", tmpl: node, signer: csr.KubeAPIServerClientKubelet, usages: clientUsages,
			user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}, approved: true, tried: []string{"nodeclient"}},
		{name: "a node renewing", tmpl: node, signer: csr.KubeAPIServerClientKubelet, usages: clientUsages,
			user: "system:node:n1", allowed: map[string]bool{"selfnodeclient": true}, approved: true, tried: []string{"selfnodeclient"}},
		{name: "key encipherment as RSA keys ask", tmpl: node, signer: csr.KubeAPIServerClientKubelet,
			usages: []string{"key encipherment", "digital signature", "client auth"}, user: "system:node:n1",
			allowed: map[string]bool{"selfnodeclient": true}, approved: true, tried: []string{"selfnodeclient"}},
		{name: "a node renewing another's", tmpl: node, signer: csr.KubeAPIServerClientKubelet, usages: clientUsages,
			user: "system:node:n2", allowed: map[string]bool{"selfnodeclient": true}, tried: []string{"nodeclient"},
			err: `recognized csr "c" as [nodeclient] but subject access review was not approved`},
		{name: "not allowed", tmpl: node, signer: csr.KubeAPIServerClientKubelet, usages: clientUsages,
			user: "system:bootstrap:abcdef", tried: []string{"nodeclient"}, err: "not approved"},
		{name: "another signer", tmpl: node, signer: csr.KubeAPIServerClient, usages: clientUsages,
			user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}},
		{name: "serving usages", tmpl: node, signer: csr.KubeAPIServerClientKubelet, usages: []string{"digital signature", "server auth"},
			user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}},
		{name: "another group", tmpl: &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:masters"}}},
			signer: csr.KubeAPIServerClientKubelet, usages: clientUsages, user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}},
		{name: "not a node", tmpl: &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: []string{"system:nodes"}}},
			signer: csr.KubeAPIServerClientKubelet, usages: clientUsages, user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}},
		{name: "with a DNS name", tmpl: &x509.CertificateRequest{Subject: node.Subject, DNSNames: []string{"n1"}},
			signer: csr.KubeAPIServerClientKubelet, usages: clientUsages, user: "system:bootstrap:abcdef", allowed: map[string]bool{"nodeclient": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &certificatesv1.CertificateSigningRequest{Metadata: &metav1.ObjectMeta{Name: "c"},
				Spec: &certificatesv1.CertificateSigningRequestSpec{Request: request(t, tc.tmpl), SignerName: tc.signer, Usages: tc.usages,
					Username: tc.user, Uid: "u-1", Groups: []string{"g"}, Extra: map[string]*certificatesv1.ExtraValue{"k": {Items: []string{"v"}}}}}
			a := &allows{subresources: tc.allowed}
			msg, err := Decide(context.Background(), r, a.review)
			if (msg != "") != tc.approved {
				t.Errorf("approval %q, want approved = %v", msg, tc.approved)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			var tried []string
			for _, r := range a.asked {
				tried = append(tried, r.GetSpec().GetResourceAttributes().GetSubresource())
				s, attrs := r.GetSpec(), r.GetSpec().GetResourceAttributes()
				if s.GetUser() != tc.user || s.GetUid() != "u-1" || s.GetGroups()[0] != "g" || s.GetExtra()["k"].GetItems()[0] != "v" ||
					attrs.GetVerb() != "create" || attrs.GetGroup() != "certificates.k8s.io" || attrs.GetResource() != "certificatesigningrequests" || attrs.GetVersion() != "*" {
					t.Errorf("asked %v", r)
				}
			}
			if strings.Join(tried, ",") != strings.Join(tc.tried, ",") {
				t.Errorf("reviewed %v, want %v", tried, tc.tried)
			}
		})
	}
}

func TestGarbage(t *testing.T) {
	r := &certificatesv1.CertificateSigningRequest{Metadata: &metav1.ObjectMeta{Name: "c"},
		Spec: &certificatesv1.CertificateSigningRequestSpec{Request: []byte("garbage"), SignerName: csr.KubeAPIServerClientKubelet}}
	if _, err := Decide(context.Background(), r, (&allows{}).review); err == nil {
		t.Error("an unreadable request was decided")
	}
}
