package kubectl

import (
	"fmt"
	"strings"
	"testing"
)

// TestControllerRevisions: kubectl on apps/v1 ControllerRevisions — the
// everyday commands, Kubernetes' columns (the controller as
// kind.group/name), and data that cannot change once written.
func TestControllerRevisions(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource:  "controllerrevisions",
		namespace: "default",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: %s
  namespace: default
  labels: {e2e: kinds}
revision: 3
data:
  spec:
    template:
      $patch: replace
      spec:
        containers: [{name: web, image: nginx:1.27}]
`, name)
		},
		columns: []string{"NAME", "CONTROLLER", "REVISION", "AGE"},
		cells:   []string{"first", "<none>", "3", "*"},
	})

	k.runIn(`apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: owned
  namespace: default
  ownerReferences:
  - {apiVersion: apps/v1, kind: DaemonSet, name: web, uid: 0b9c8c4e-2f6e-4b8e-9d53-5a4c1f0e7a11, controller: true}
revision: 1
data: {spec: {template: {spec: {containers: [{name: web, image: nginx:1.27}]}}}}
`, "apply", "-f", "-")
	row := strings.Split(strings.TrimSpace(k.run("get", "controllerrevision", "owned", "--no-headers")), "\n")
	if got := fields(row[0]); len(got) != 4 || got[1] != "daemonset.apps/web" {
		t.Errorf("controller column: got %q, want daemonset.apps/web", got)
	}
	out, err := k.try("", "patch", "controllerrevision", "owned", "--type=merge", "-p", `{"data":{"spec":{"replicas":2}}}`)
	if err == nil || !strings.Contains(out, "data: Invalid value") || !strings.Contains(out, "field is immutable") {
		t.Errorf("patch of data: got %v\n%s, want the immutable-field error", err, out)
	}
	out, err = k.try(`apiVersion: apps/v1
kind: ControllerRevision
metadata: {name: empty, namespace: default}
revision: -1
`, "create", "-f", "-")
	if err == nil || !strings.Contains(out, "data: Required value: data is mandatory") || !strings.Contains(out, "revision: Invalid value: -1") {
		t.Errorf("create without data: got %v\n%s, want data required and revision invalid", err, out)
	}
	k.run("delete", "controllerrevision", "owned")
}
