package chart

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/e2e/framework"
)

// The Secrets controlplane-pki keeps for the release "hosted-skiff", the
// fullname charts/skiff gives the release "hosted", and their keys.
var pkiSecrets = map[string][]string{
	"hosted-skiff-etcd-ca":                       {"ca.crt", "ca.key"},
	"hosted-skiff-etcd-certs":                    {"ca.crt", "peer.crt", "peer.key", "server.crt", "server.key"},
	"hosted-skiff-ca":                            {"ca.crt", "ca.key"},
	"hosted-skiff-apiserver-certs":               {"apiserver-etcd-client.crt", "apiserver-etcd-client.key", "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "apiserver.crt", "apiserver.key", "ca.crt", "etcd-ca.crt"},
	"hosted-skiff-service-account-key":           {"sa.key", "sa.pub"},
	"hosted-skiff-admin-kubeconfig":              {"kubeconfig"},
	"hosted-skiff-scheduler-kubeconfig":          {"kubeconfig"},
	"hosted-skiff-controller-manager-kubeconfig": {"kubeconfig"},
	"hosted-skiff-cloud-controller-kubeconfig":   {"kubeconfig"},
	"hosted-skiff-proxy-kubeconfig":              {"kubeconfig"},
	"hosted-skiff-node-bootstrap":                {"expiration", "kubeconfig", "token"},
}

// pki runs controlplane-pki and returns its output.
func pki(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, framework.Binary(t, "controlplane-pki"), args...).CombinedOutput()
	return string(out), err
}

// jobKubeconfig is a kubeconfig of srv for the chart's PKI Job: the
// ServiceAccount, Role and RoleBinding charts/skiff renders, applied to
// srv, and a token of that account, so the program runs with no more
// than the chart gives it.
func jobKubeconfig(t *testing.T, srv *framework.APIServer) string {
	t.Helper()
	var rbac []string
	for _, o := range objects(t, render(t)) {
		if o.Name == "hosted-skiff-pki" && slices.Contains([]string{"ServiceAccount", "Role", "RoleBinding"}, o.Kind) {
			rbac = append(rbac, string(o.JSON))
		}
	}
	if len(rbac) != 3 {
		t.Fatalf("the chart renders %d of the PKI Job's ServiceAccount, Role and RoleBinding", len(rbac))
	}
	if out, err := framework.Kubectl(t, srv.Kubeconfig(), strings.Join(rbac, "\n"), "apply", "-n", "hosting", "-f", "-"); err != nil {
		t.Fatalf("apply the PKI Job's RBAC: %v\n%s", err, out)
	}
	token, err := framework.Kubectl(t, srv.Kubeconfig(), "", "create", "token", "hosted-skiff-pki", "-n", "hosting")
	if err != nil {
		t.Fatalf("kubectl create token: %v\n%s", err, token)
	}
	cfg, err := clientcmd.LoadFromFile(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range cfg.AuthInfos {
		*u = *u.DeepCopy()
		u.Token = strings.TrimSpace(token)
	}
	path := filepath.Join(t.TempDir(), "job.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func secretsOf(t *testing.T, cs kubernetes.Interface) map[string]*corev1.Secret {
	t.Helper()
	list, err := cs.CoreV1().Secrets("hosting").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*corev1.Secret{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

func createNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPKIGenerate runs the chart's PKI program as its Job would, with
// the Job's own ServiceAccount and Role, against a real apiserver: it
// creates every Secret with its keys, signed by the right CA for the
// right names; a second run changes nothing; a deleted Secret comes back
// signed by the CA that stayed; a Secret the user made is kept, and
// delete removes only what generate made.
func TestPKIGenerate(t *testing.T) {
	srv := framework.StartAPIServer(t)
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	ctx := context.Background()
	createNamespace(t, cs, "hosting")
	kubeconfig := jobKubeconfig(t, srv)
	generate := func() {
		t.Helper()
		if out, err := pki(t, "generate", "--kubeconfig", kubeconfig, "--release", "hosted-skiff", "--namespace", "hosting",
			"--apiserver-hosts", "10.89.0.200,skiff.example.org", "--admin-server", "https://10.89.0.200:6443"); err != nil {
			t.Fatalf("controlplane-pki generate: %v\n%s", err, out)
		}
	}
	generate()
	got := secretsOf(t, cs)
	for name, keys := range pkiSecrets {
		s := got[name]
		if s == nil {
			t.Errorf("no Secret %s", name)
			continue
		}
		var have []string
		for k := range s.Data {
			have = append(have, k)
		}
		if slices.Sort(have); !slices.Equal(have, keys) || s.Labels["skiff.dev/generated-by"] != "controlplane-pki" {
			t.Errorf("Secret %s: keys %v, labels %v; want %v and skiff.dev/generated-by", name, have, s.Labels, keys)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	ca := parseCert(t, got["hosted-skiff-ca"].Data["ca.crt"])
	serving := parseCert(t, got["hosted-skiff-apiserver-certs"].Data["apiserver.crt"])
	if err := serving.CheckSignatureFrom(ca); err != nil {
		t.Errorf("apiserver.crt not signed by the CA: %v", err)
	}
	for _, name := range []string{"hosted-skiff-apiserver.hosting.svc", "skiff.example.org", "kubernetes.default.svc"} {
		if err := serving.VerifyHostname(name); err != nil {
			t.Errorf("apiserver.crt: %v", err)
		}
	}
	if err := serving.VerifyHostname("10.89.0.200"); err != nil {
		t.Errorf("apiserver.crt: %v", err)
	}
	etcdServing := parseCert(t, got["hosted-skiff-etcd-certs"].Data["server.crt"])
	if err := etcdServing.CheckSignatureFrom(parseCert(t, got["hosted-skiff-etcd-ca"].Data["ca.crt"])); err != nil {
		t.Errorf("etcd server.crt not signed by the etcd CA: %v", err)
	}
	if err := etcdServing.VerifyHostname("hosted-skiff-etcd-2.hosted-skiff-etcd.hosting.svc"); err != nil {
		t.Errorf("etcd server.crt: %v", err)
	}
	admin, err := clientcmd.Load(got["hosted-skiff-admin-kubeconfig"].Data["kubeconfig"])
	if err != nil {
		t.Fatal(err)
	}
	if server := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster].Server; server != "https://10.89.0.200:6443" {
		t.Errorf("admin kubeconfig names %s, want --admin-server", server)
	}

	t.Run("a second run keeps every Secret", func(t *testing.T) {
		generate()
		for name, s := range secretsOf(t, cs) {
			if before := got[name]; before != nil && before.ResourceVersion != s.ResourceVersion {
				t.Errorf("Secret %s was written again", name)
			}
		}
	})

	t.Run("a deleted Secret comes back from the CA that stayed", func(t *testing.T) {
		if err := cs.CoreV1().Secrets("hosting").Delete(ctx, "hosted-skiff-apiserver-certs", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		generate()
		now := secretsOf(t, cs)
		renewed := parseCert(t, now["hosted-skiff-apiserver-certs"].Data["apiserver.crt"])
		if renewed.Equal(serving) {
			t.Error("apiserver.crt is the deleted one")
		}
		if err := renewed.CheckSignatureFrom(ca); err != nil {
			t.Errorf("the new apiserver.crt is not signed by the kept CA: %v", err)
		}
		if now["hosted-skiff-service-account-key"].ResourceVersion != got["hosted-skiff-service-account-key"].ResourceVersion {
			t.Error("the service-account key changed with the certificates")
		}
	})

	t.Run("delete removes only what generate made", func(t *testing.T) {
		const own = "hosted-skiff-proxy-kubeconfig"
		if err := cs.CoreV1().Secrets("hosting").Delete(ctx, own, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Secrets("hosting").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: own},
			Data: map[string][]byte{"kubeconfig": []byte("mine")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		generate()
		if s := secretsOf(t, cs)[own]; string(s.Data["kubeconfig"]) != "mine" {
			t.Errorf("generate replaced the user's Secret %s", own)
		}
		if out, err := pki(t, "delete", "--kubeconfig", kubeconfig, "--release", "hosted-skiff", "--namespace", "hosting"); err != nil {
			t.Fatalf("controlplane-pki delete: %v\n%s", err, out)
		}
		left := secretsOf(t, cs)
		for name := range pkiSecrets {
			if _, ok := left[name]; ok != (name == own) {
				t.Errorf("after delete, Secret %s there: %v", name, ok)
			}
		}
	})
}

// TestPKIRefuses: an existing Secret without a key it needs, and an
// even etcd, stop generate with a message that says so, before any
// Secret is created.
func TestPKIRefuses(t *testing.T) {
	srv := framework.StartAPIServer(t)
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	ctx := context.Background()
	createNamespace(t, cs, "hosting")
	if _, err := cs.CoreV1().Secrets("hosting").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hosted-skiff-etcd-ca"},
		Data: map[string][]byte{"ca.crt": []byte("x")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, `Secret hosted-skiff-etcd-ca has no key "ca.key"`},
		{[]string{"--etcd-replicas", "4"}, "etcd needs an odd number of members"},
	} {
		out, err := pki(t, append([]string{"generate", "--kubeconfig", srv.Kubeconfig(), "--release", "hosted-skiff", "--namespace", "hosting"}, tt.args...)...)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("generate %v: %v, want an error saying %q:\n%s", tt.args, err, tt.want, out)
		}
	}
	if got := secretsOf(t, cs); len(got) != 1 {
		t.Errorf("Secrets after refusals: %d, want only the user's", len(got))
	}
}

// TestJoinAndCheck runs the chart's post-install join and its helm test
// against a real control plane: join registers the node bootstrap token,
// which then authenticates as a bootstrapping node allowed to ask for a
// certificate; check fails while no component leads, naming each
// election, and passes once a scheduler, a controller-manager and a
// cloud-controller run.
func TestJoinAndCheck(t *testing.T) {
	srv := framework.StartAPIServer(t)
	const token = "abcdef.0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	expirationFile := filepath.Join(t.TempDir(), "expiration")
	if err := os.WriteFile(expirationFile, []byte(expires.Format(time.RFC3339)), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // again, as on every upgrade: nothing to do
		if out, err := pki(t, "join", "--hosted-kubeconfig", srv.Kubeconfig(), "--token-file", tokenFile,
			"--expiration-file", expirationFile, "--timeout", "30s"); err != nil {
			t.Fatalf("controlplane-pki join: %v\n%s", err, out)
		}
	}
	node := rest.CopyConfig(srv.RESTConfig())
	node.BearerToken, node.BearerTokenFile = token, ""
	node.CertData, node.KeyData, node.CertFile, node.KeyFile = nil, nil, "", ""
	nodeClient := kubernetes.NewForConfigOrDie(node)
	ctx := context.Background()
	tokenSecret, err := kubernetes.NewForConfigOrDie(srv.RESTConfig()).CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-abcdef", metav1.GetOptions{})
	if err != nil {
		t.Errorf("the token's Secret: %v", err)
	} else if got := string(tokenSecret.Data["expiration"]); got != expires.Format(time.RFC3339) {
		t.Errorf("the token's Secret expires %q, want %s", got, expires.Format(time.RFC3339))
	}
	review, err := nodeClient.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the bootstrap token does not authenticate: %v", err)
	}
	if u := review.Status.UserInfo; u.Username != "system:bootstrap:abcdef" || !slices.Contains(u.Groups, "system:bootstrappers:kubeadm:default-node-token") {
		t.Errorf("the bootstrap token is %s in %v", u.Username, u.Groups)
	}
	sar, err := nodeClient.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Verb: "create"}}}, metav1.CreateOptions{})
	if err != nil || !sar.Status.Allowed {
		t.Errorf("a bootstrapping node may not create a CertificateSigningRequest: %v %+v", err, sar)
	}
	if _, err := nodeClient.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a bootstrapping node lists Secrets: %v", err)
	}

	out, err := pki(t, "check", "--hosted-kubeconfig", srv.Kubeconfig(), "--timeout", "1s")
	if err == nil {
		t.Fatalf("check passed with no component running:\n%s", out)
	}
	for _, lease := range []string{"kube-scheduler", "kube-controller-manager", "cloud-controller-manager"} {
		if !strings.Contains(out, "Lease "+lease) {
			t.Errorf("check does not name the Lease %s:\n%s", lease, out)
		}
	}
	framework.StartScheduler(t, srv)
	framework.StartControllerManager(t, srv)
	framework.StartCloudController(t, srv)
	if out, err := pki(t, "check", "--hosted-kubeconfig", srv.Kubeconfig(), "--timeout", "90s"); err != nil || !strings.Contains(out, "each have a leader") {
		t.Fatalf("controlplane-pki check with every component running: %v\n%s", err, out)
	}
}
