package kubectl

import (
	"fmt"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// TestPodTemplates: kubectl on core/v1 PodTemplates — the everyday
// commands, Kubernetes' columns (no age), and a deleted namespace takes
// its pod templates with it.
func TestPodTemplates(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "namespace", "templates")
	exerciseKind(t, k, kindCase{
		resource:  "podtemplates",
		namespace: "templates",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: v1
kind: PodTemplate
metadata:
  name: %s
  namespace: templates
  labels: {e2e: kinds}
template:
  metadata:
    labels: {app: web, tier: front}
  spec:
    containers:
    - {name: web, image: nginx:1.27}
    - {name: sidecar, image: busybox}
`, name)
		},
		columns: []string{"NAME", "CONTAINERS", "IMAGES", "POD LABELS"},
		cells:   []string{"first", "web,sidecar", "nginx:1.27,busybox", "app=web,tier=front"},
	})

	out := k.run("explain", "podtemplate.template.spec.containers", "--recursive=false")
	mustContain(t, "kubectl explain", out, "KIND:", "PodTemplate", "FIELD: containers")

	k.run("create", "namespace", "doomed")
	k.runIn(`apiVersion: v1
kind: PodTemplate
metadata: {name: left, namespace: doomed}
template:
  spec:
    containers: [{name: c, image: busybox}]
`, "apply", "-f", "-")
	k.run("delete", "namespace", "doomed", "--timeout=60s")
	framework.Eventually(t, 60*time.Second, "the namespace is gone", func() error {
		if _, err := k.try("", "get", "namespace", "doomed"); err == nil {
			return fmt.Errorf("namespace doomed still there")
		}
		return nil
	})
	k.run("create", "namespace", "doomed")
	out = k.run("get", "podtemplates", "-n", "doomed")
	mustContain(t, "pod templates of a namespace deleted and made again", out, "No resources found")
}
