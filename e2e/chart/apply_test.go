package chart

import (
	"slices"
	"strings"
	"testing"

	"skiff.dev/e2e/framework"
)

// TestTemplateAppliesServerSide: what helm template renders (hooks and
// the test Pod included) passes a real Skiff apiserver's admission and
// validation as kubectl apply --dry-run=server sends it, with the default
// values and with every value set, and nothing is created.
func TestTemplateAppliesServerSide(t *testing.T) {
	srv := framework.StartAPIServer(t)
	kubectl := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, srv.Kubeconfig(), stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	kubectl(t, "", "create", "namespace", "hosting")
	// The test Pod runs as the namespace's default account, which the
	// controller-manager (not running here) would have made.
	kubectl(t, "", "create", "serviceaccount", "default", "-n", "hosting")
	before := inventory(t, srv.Kubeconfig())
	for name, args := range map[string][]string{"defaults": nil, "every value": {"-f", allValues}} {
		t.Run(name, func(t *testing.T) {
			rendered := render(t, args...)
			out := kubectl(t, rendered, "apply", "--dry-run=server", "-n", "hosting", "-f", "-")
			// One line per object, each "(server dry run)".
			if n, lines := len(objects(t, rendered)), strings.Count(out, "(server dry run)"); n != lines || n < 20 {
				t.Errorf("%d objects rendered, %d applied:\n%s", n, lines, out)
			}
		})
	}
	if after := inventory(t, srv.Kubeconfig()); after != before {
		t.Errorf("a dry run created objects:\nbefore %s\nafter %s", before, after)
	}
}

// inventory lists the objects the chart could create, in every
// namespace, for comparing before and after.
func inventory(t *testing.T, kubeconfig string) string {
	t.Helper()
	out, err := framework.Kubectl(t, kubeconfig, "", "get", "--all-namespaces", "-o", "name",
		"secrets,configmaps,serviceaccounts,services,deployments,statefulsets,jobs,pods,poddisruptionbudgets,roles,rolebindings,persistentvolumeclaims")
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(lines)
	return strings.Join(lines, " ")
}

// TestInstallRefusesBadValues: helm install with values the schema
// refuses (an even etcd, an unknown key, a bad Service type) fails with
// the schema's message, and nothing is created in the cluster, not even
// the release's own Secret; a dry run with good values prints the NOTES.
func TestInstallRefusesBadValues(t *testing.T) {
	srv := framework.StartAPIServer(t)
	if out, err := framework.Kubectl(t, srv.Kubeconfig(), "", "create", "namespace", "hosting"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before := inventory(t, srv.Kubeconfig())
	tests := []struct {
		name string
		set  string
		want []string
	}{
		{"even etcd", "etcd.replicas=2", []string{"values don't meet the specifications of the schema", "/etcd/replicas", "must be one of"}},
		{"unknown key", "etcd.replica=3", []string{"values don't meet the specifications of the schema", "additional properties 'replica' not allowed"}},
		{"unknown top-level key", "apiservers.replicas=3", []string{"additional properties 'apiservers' not allowed"}},
		{"Service type", "apiserver.service.type=External", []string{"/apiserver/service/type", "must be one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helm(t, srv.Kubeconfig(), "install", "hosted", chartDir(), "--namespace", "hosting", "--set", tt.set)
			if err == nil {
				t.Fatalf("helm install --set %s succeeded:\n%s", tt.set, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("helm install --set %s: %q not in its message:\n%s", tt.set, w, out)
				}
			}
		})
	}
	// What helm install prints for good values, without installing:
	// NOTES.txt's way to the control plane for each Service type.
	for typ, want := range map[string]string{
		"LoadBalancer": "jsonpath='{.status.loadBalancer.ingress[0].ip}'",
		"NodePort":     "jsonpath='{.spec.ports[0].nodePort}'",
		"ClusterIP":    "port-forward service/hosted-skiff-apiserver 6443:6443",
	} {
		t.Run("NOTES with a "+typ+" Service", func(t *testing.T) {
			out, err := helm(t, srv.Kubeconfig(), "install", "hosted", chartDir(), "--namespace", "hosting", "--dry-run=server", "--set", "apiserver.service.type="+typ)
			if err != nil {
				t.Fatalf("helm install --dry-run=server: %v\n%s", err, out)
			}
			notes := out[strings.Index(out, "NOTES:"):]
			for _, w := range []string{want, "helm test hosted -n hosting", "secret hosted-skiff-admin-kubeconfig", "secret hosted-skiff-node-bootstrap",
				"--bootstrap-kubeconfig=node-bootstrap.kubeconfig"} {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
		})
	}
	if after := inventory(t, srv.Kubeconfig()); after != before {
		t.Errorf("a refused install created objects:\nbefore %s\nafter %s", before, after)
	}
}
