package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	certificatesv1 "skiff.dev/api/certificates/v1"
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

const kubeletSigner = "kubernetes.io/kube-apiserver-client-kubelet"

func testRequest(t *testing.T, cn string, orgs ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func testCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// grant binds a new ClusterRole with one rule to a user and waits until
// the authorizer sees it.
func grant(t *testing.T, a *API, ctx context.Context, user string, rule *rbacv1.PolicyRule) {
	t.Helper()
	const g = "rbac.authorization.k8s.io"
	role := &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: user + "-role"}, Rules: []*rbacv1.PolicyRule{rule}}
	if _, err := a.Backend(g, "clusterroles").Create(ctx, role, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &rbacv1.ClusterRoleBinding{Metadata: &metav1.ObjectMeta{Name: user + "-binding"},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: g, Kind: "ClusterRole", Name: role.Metadata.Name},
		Subjects: []*rbacv1.Subject{{Kind: "User", ApiGroup: g, Name: user}}}
	if _, err := a.Backend(g, "clusterrolebindings").Create(ctx, b, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ask := authorizer.ResourceRequest(rule.Verbs[0], rule.ApiGroups[0], "*", rule.Resources[0], "", "", "")
	if len(rule.ResourceNames) > 0 {
		ask.Name = rule.ResourceNames[0]
	}
	deadline := time.Now().Add(10 * time.Second)
	for authorizer.Check(auth.WithUser(ctx, auth.User{Name: user}), a.Authorizer(), ask) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the authorizer does not see %s's binding", user)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantStatus(t *testing.T, err error, code int32, contains string) {
	t.Helper()
	se, ok := err.(*apierrors.StatusError)
	if !ok || se.Status.GetCode() != code || !strings.Contains(se.Status.GetMessage(), contains) {
		t.Fatalf("got %v, want a %d saying %q", err, code, contains)
	}
}

// TestCertificateSigningRequests: the requestor comes from the user; the
// object's writes change neither spec nor status; approval needs approve
// on the signer and is final; the certificate is written once, through
// status, by someone allowed to sign; kube-apiserver-client gives no
// system:masters.
func TestCertificateSigningRequests(t *testing.T) {
	a, ctx := newTestAPI(t)
	csrs := a.Backend("certificates.k8s.io", "certificatesigningrequests")
	node := auth.User{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers", "system:authenticated"},
		Extra: map[string][]string{"k": {"v"}}}
	in := &certificatesv1.CertificateSigningRequest{
		Metadata: &metav1.ObjectMeta{Name: "node-csr-a"},
		Spec: &certificatesv1.CertificateSigningRequestSpec{Request: testRequest(t, "system:node:a", "system:nodes"),
			SignerName: kubeletSigner, Usages: []string{"digital signature", "client auth"}, Username: "forged", Groups: []string{"system:masters"}},
		Status: &certificatesv1.CertificateSigningRequestStatus{Certificate: testCertificate(t)},
	}
	out, err := csrs.Create(auth.WithUser(ctx, node), in, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	csr := out.(*certificatesv1.CertificateSigningRequest)
	if s := csr.GetSpec(); s.GetUsername() != node.Name || !slices.Equal(s.GetGroups(), node.Groups) || s.GetExtra()["k"].GetItems()[0] != "v" {
		t.Errorf("requestor %q %q %v, want the creating user", s.GetUsername(), s.GetGroups(), s.GetExtra())
	}
	if csr.GetStatus().GetCertificate() != nil {
		t.Error("a created request kept the certificate it came with")
	}

	// The object's own writes keep spec and status.
	edit := proto.Clone(csr).(*certificatesv1.CertificateSigningRequest)
	edit.Metadata.Labels = map[string]string{"team": "a"}
	edit.Spec.SignerName = "example.com/other"
	edit.Status = &certificatesv1.CertificateSigningRequestStatus{Conditions: []*certificatesv1.CertificateSigningRequestCondition{{Type: "Approved", Status: "True"}}}
	out, err = csrs.Update(ctx, edit, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	csr = out.(*certificatesv1.CertificateSigningRequest)
	if csr.GetSpec().GetSignerName() != kubeletSigner || len(csr.GetStatus().GetConditions()) != 0 || csr.GetMetadata().GetLabels()["team"] != "a" {
		t.Fatalf("an update of the object changed spec or status, or lost its labels: %v", csr)
	}

	parts := csrs.(registry.PartUpdater)
	approve := func(user string, typ string) error {
		cur, err := csrs.Get(ctx, "", "node-csr-a", registry.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := cur.(*certificatesv1.CertificateSigningRequest)
		if c.Status == nil {
			c.Status = &certificatesv1.CertificateSigningRequestStatus{}
		}
		c.Status.Conditions = append(c.Status.Conditions, &certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: "True", Reason: "Test"})
		_, err = parts.UpdatePart(auth.WithUser(ctx, auth.User{Name: user}), c, registry.UpdateOptions{Subresource: "approval"})
		return err
	}
	wantStatus(t, approve("alice", "Approved"), 403,
		`certificatesigningrequests.certificates.k8s.io "node-csr-a" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client-kubelet"`)
	grant(t, a, ctx, "alice", &rbacv1.PolicyRule{Verbs: []string{"approve"}, ApiGroups: []string{"certificates.k8s.io"},
		Resources: []string{"signers"}, ResourceNames: []string{kubeletSigner}})
	if err := approve("alice", "Approved"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, approve("alice", "Denied"), 422, "Approved and Denied conditions are mutually exclusive")
	got, _ := csrs.Get(ctx, "", "node-csr-a", registry.GetOptions{})
	c := got.(*certificatesv1.CertificateSigningRequest)
	if conds := c.GetStatus().GetConditions(); len(conds) != 1 || conds[0].GetLastUpdateTime() == nil || conds[0].GetLastTransitionTime() == nil {
		t.Fatalf("conditions after approval: %v, want Approved with its times", conds)
	}

	// The signer writes the certificate through status, once.
	sign := func(user string) error {
		cur, _ := csrs.Get(ctx, "", "node-csr-a", registry.GetOptions{})
		c := cur.(*certificatesv1.CertificateSigningRequest)
		c.Status.Certificate = testCertificate(t)
		_, err := csrs.UpdateStatus(auth.WithUser(ctx, auth.User{Name: user}), c, registry.UpdateOptions{})
		return err
	}
	wantStatus(t, sign("bob"), 403, `user not permitted to sign requests with signerName "kubernetes.io/kube-apiserver-client-kubelet"`)
	grant(t, a, ctx, "bob", &rbacv1.PolicyRule{Verbs: []string{"sign"}, ApiGroups: []string{"certificates.k8s.io"},
		Resources: []string{"signers"}, ResourceNames: []string{"kubernetes.io/*"}})
	if err := sign("bob"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, sign("bob"), 422, "updates may not modify existing certificate content")

	// No system:masters through kube-apiserver-client, for anyone but
	// in-process writes.
	masters := &certificatesv1.CertificateSigningRequest{
		Metadata: &metav1.ObjectMeta{Name: "root"},
		Spec: &certificatesv1.CertificateSigningRequestSpec{Request: testRequest(t, "eve", "system:masters"),
			SignerName: "kubernetes.io/kube-apiserver-client", Usages: []string{"client auth"}},
	}
	_, err = csrs.Create(auth.WithUser(ctx, auth.User{Name: "eve"}), masters, registry.CreateOptions{})
	wantStatus(t, err, 403, "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed")

	// A request that is no request: 422 with the field's cause.
	bad := proto.Clone(masters).(*certificatesv1.CertificateSigningRequest)
	bad.Spec.Request = []byte("garbage")
	_, err = csrs.Create(ctx, bad, registry.CreateOptions{})
	wantStatus(t, err, 422, "spec.request: Invalid value")
}
