package kubectl

import (
	"fmt"
	"testing"
)

// TestRuntimeClasses: kubectl on node.k8s.io/v1 RuntimeClasses, a
// cluster-scoped kind: the everyday commands, Kubernetes' columns, and the
// handler that may not change.
func TestRuntimeClasses(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "runtimeclasses",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: %s
  labels: {e2e: kinds}
handler: %s-handler
overhead:
  podFixed: {cpu: 10m, memory: 1Mi}
scheduling:
  nodeSelector: {sandbox: "yes"}
`, name, name)
		},
		columns: []string{"NAME", "HANDLER", "AGE"},
		cells:   []string{"first", "first-handler", "*"},
	})

	k.runIn("apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: fixed}\nhandler: runc\n", "apply", "-f", "-")
	out, err := k.try("", "patch", "runtimeclass", "fixed", "--type=merge", "-p", `{"handler":"kata"}`)
	if err == nil {
		t.Errorf("kubectl patch of the handler: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "kubectl patch of the handler", out, "handler: Invalid value", "field is immutable")
	out = k.run("explain", "runtimeclass.overhead")
	mustContain(t, "kubectl explain", out, "KIND:", "RuntimeClass", "podFixed")
}
