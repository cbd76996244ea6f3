package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	k8scertificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/pkg/client"
)

const joinedPod = `apiVersion: v1
kind: Pod
metadata: {name: on-joined-node}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
`

// nodeTokenGroup is kubeadm's group of node bootstrap tokens, which
// deploy/bootstrap/node-bootstrap.yaml lets join.
const nodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

// TestNodeJoinsWithBootstrapToken: a kubelet given only a bootstrap token
// asks for its client certificate, which csrapproving approves and
// csrsigning signs with the cluster CA; it then registers its Node and runs
// pods as system:node:<name>, renews its certificate as itself, and goes on
// working after its first certificate has expired. On the way: kubectl
// certificate approve and deny, a garbage request refused with 422, and an
// expired token refused with 401 and then deleted by the token cleaner.
func TestNodeJoinsWithBootstrapToken(t *testing.T) {
	framework.NeedRuntime(t)
	ctd := framework.StartContainerd(t)
	srv := framework.StartAPIServer(t)
	framework.StartScheduler(t, srv)
	pki := filepath.Join(srv.DataDir, "pki")
	// Two-minute certificates, so the kubelet renews within the test and
	// its first certificate expires while it runs.
	framework.StartControllerManager(t, srv, "--cluster-signing-cert-file", filepath.Join(pki, "ca.crt"),
		"--cluster-signing-key-file", filepath.Join(pki, "ca.key"), "--cluster-signing-duration", "2m")
	cl := &cluster{srv: srv, ctd: ctd}
	admin := srv.Client()
	ctx := context.Background()

	if out, err := framework.Kubectl(t, srv.Kubeconfig(), "", "apply", "-f", filepath.Join("..", "..", "deploy", "bootstrap", "node-bootstrap.yaml")); err != nil {
		t.Fatalf("kubectl apply the node bootstrap bindings: %v\n%s", err, out)
	}

	id, secret := bootstraptoken.Generate()
	token := id + "." + secret
	if _, err := admin.CoreV1().Secrets(bootstraptoken.Namespace).Create(ctx,
		bootstraptoken.Secret(id, secret, time.Now().Add(time.Hour), nodeTokenGroup), client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Second, "the bootstrap token authenticates", func() error {
		out, err := asToken(t, cl, token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		if err != nil || out != "system:bootstrap:"+id {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	k := framework.StartBootstrapKubelet(t, srv, ctd, "node-join", framework.BootstrapKubeconfig(t, srv, token))
	framework.WaitNodeReady(t, admin, "node-join")

	// kubectl get csr: the node's request, approved and issued.
	out, err := framework.Kubectl(t, srv.Kubeconfig(), "", "get", "csr", "--no-headers")
	if err != nil {
		t.Fatalf("kubectl get csr: %v\n%s", err, out)
	}
	var joined string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && f[3] == "system:bootstrap:"+id {
			joined = line
			if !strings.HasPrefix(f[0], "node-csr-") || f[2] != "kubernetes.io/kube-apiserver-client-kubelet" || f[4] != "<none>" || f[5] != "Approved,Issued" {
				t.Errorf("kubectl get csr: the node's request is %q, want node-csr-..., the kubelet signer, Approved,Issued", line)
			}
		}
	}
	if joined == "" {
		t.Fatalf("kubectl get csr shows no request of system:bootstrap:%s:\n%s", id, out)
	}

	// The kubelet is system:node:node-join, with its certificate in its
	// certificate directory.
	out, err = framework.Kubectl(t, k.Kubeconfig, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if err != nil || !strings.HasPrefix(out, "system:node:node-join ") || !strings.Contains(out, "system:nodes") {
		t.Fatalf("the kubelet's kubeconfig authenticates as %q (%v), want system:node:node-join in system:nodes", out, err)
	}
	current := filepath.Join(k.RootDir, "pki", "kubelet-client-current.pem")
	if target, err := os.Readlink(current); err != nil || !strings.HasPrefix(target, "kubelet-client-") {
		t.Errorf("%s: %q, %v; want a symlink to kubelet-client-<time>.pem", current, target, err)
	}
	firstExpiry := certificateExpiry(t, current)

	// It runs pods.
	cl.apply(t, joinedPod)
	framework.Eventually(t, 90*time.Second, "the pod runs on the joined node", func() error {
		p, err := admin.CoreV1().Pods("default").Get(ctx, "on-joined-node")
		if err != nil {
			return err
		}
		if p.GetSpec().GetNodeName() != "node-join" || p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("on %q, %s", p.GetSpec().GetNodeName(), p.GetStatus().GetPhase())
		}
		return nil
	})

	checkKubectlApproval(t, srv)
	checkBadInput(t, cl)

	// The kubelet renews its certificate as itself (selfnodeclient), and
	// still works once the first one has expired: its connections were
	// made again with the new one.
	framework.Eventually(t, 3*time.Minute, "the kubelet renewed its certificate", func() error {
		list, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		for _, r := range list.GetItems() {
			if r.GetSpec().GetUsername() == "system:node:node-join" && len(r.GetStatus().GetCertificate()) > 0 && approvedBy(r, "AutoApproved") {
				return nil
			}
		}
		return fmt.Errorf("no issued request of system:node:node-join among %d", len(list.GetItems()))
	})
	if wait := time.Until(firstExpiry) + 5*time.Second; wait > 0 {
		t.Logf("waiting %v for the first certificate to expire", wait.Round(time.Second))
		time.Sleep(wait)
	}
	if certificateExpiry(t, current).Equal(firstExpiry) {
		t.Fatal("the current certificate is still the first one")
	}
	framework.Eventually(t, 60*time.Second, "the node's lease is renewed after the first certificate expired", func() error {
		l, err := admin.CoordinationV1().Leases("kube-node-lease").Get(ctx, "node-join")
		if err != nil {
			return err
		}
		if renewed := l.GetSpec().GetRenewTime().AsTime(); !renewed.After(firstExpiry) {
			return fmt.Errorf("renewed at %v, the first certificate expired at %v", renewed, firstExpiry)
		}
		return nil
	})
	framework.WaitNodeReady(t, admin, "node-join")
}

func approvedBy(r *certificatesv1.CertificateSigningRequest, reason string) bool {
	for _, c := range r.GetStatus().GetConditions() {
		if c.GetType() == "Approved" && c.GetReason() == reason {
			return true
		}
	}
	return false
}

// certificateExpiry is the NotAfter of the first certificate of a PEM file.
func certificateExpiry(t *testing.T, path string) time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.NotAfter
}

// userRequest is a CertificateSigningRequest manifest for a client
// certificate of a user, to the kube-apiserver-client signer.
func userRequest(t *testing.T, name, user string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: user, Organization: []string{"dev"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	request := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return fmt.Sprintf(`apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: %s}
spec:
  request: %s
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages: [client auth]
`, name, request)
}

// checkKubectlApproval: kubectl certificate approve gets a user's request
// signed; kubectl certificate deny denies another.
func checkKubectlApproval(t *testing.T, srv *framework.APIServer) {
	t.Helper()
	kc := srv.Kubeconfig()
	for _, name := range []string{"alice", "mallory"} {
		if out, err := framework.Kubectl(t, kc, userRequest(t, name, name), "create", "-f", "-"); err != nil {
			t.Fatalf("kubectl create csr %s: %v\n%s", name, err, out)
		}
	}
	if out, err := framework.Kubectl(t, kc, "", "certificate", "approve", "alice"); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("kubectl certificate approve: %v\n%s", err, out)
	}
	if out, err := framework.Kubectl(t, kc, "", "certificate", "deny", "mallory"); err != nil || !strings.Contains(out, "denied") {
		t.Fatalf("kubectl certificate deny: %v\n%s", err, out)
	}
	want := map[string]string{"alice": "Approved,Issued", "mallory": "Denied"}
	framework.Eventually(t, 30*time.Second, "alice's request issued, mallory's denied", func() error {
		out, err := framework.Kubectl(t, kc, "", "get", "csr", "alice", "mallory", "--no-headers")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 6 || f[2] != "kubernetes.io/kube-apiserver-client" || f[3] != "skiff-admin" || f[4] != "24h" || f[5] != want[f[0]] {
				return fmt.Errorf("kubectl get csr: %q", line)
			}
		}
		return nil
	})
}

// checkBadInput: a request that is no PKCS#10 request is refused with 422
// and a cause naming spec.request; an expired bootstrap token is refused
// with 401, and the token cleaner deletes its Secret.
func checkBadInput(t *testing.T, cl *cluster) {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cl.srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CertificatesV1().CertificateSigningRequests().Create(ctx, &k8scertificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "garbage"},
		Spec: k8scertificatesv1.CertificateSigningRequestSpec{Request: []byte("garbage"),
			SignerName: "kubernetes.io/kube-apiserver-client-kubelet", Usages: []k8scertificatesv1.KeyUsage{"client auth"}},
	}, metav1.CreateOptions{})
	var se *apierrors.StatusError
	if !apierrors.IsInvalid(err) || !errors.As(err, &se) || se.ErrStatus.Code != 422 || se.ErrStatus.Details == nil ||
		len(se.ErrStatus.Details.Causes) == 0 || se.ErrStatus.Details.Causes[0].Field != "spec.request" ||
		!strings.Contains(se.ErrStatus.Details.Causes[0].Message, "PEM block type must be CERTIFICATE REQUEST") {
		t.Errorf("a garbage request: %v, want 422 with a cause for spec.request", err)
	}

	id, secret := bootstraptoken.Generate()
	expired := bootstraptoken.Secret(id, secret, time.Now().Add(-time.Minute), nodeTokenGroup)
	if _, err := cl.srv.Client().CoreV1().Secrets(bootstraptoken.Namespace).Create(ctx, expired, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, err := asToken(t, cl, id+"."+secret, "get", "csr"); err == nil || !strings.Contains(out, "Unauthorized") {
		t.Errorf("an expired bootstrap token: %v\n%s", err, out)
	}
	framework.Eventually(t, 30*time.Second, "the token cleaner deletes the expired token", func() error {
		_, err := cl.srv.Client().CoreV1().Secrets(bootstraptoken.Namespace).Get(ctx, bootstraptoken.SecretName(id))
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
}
