package kubectl

import (
	"testing"
)

const replicaSetYAML = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: cache}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
      - name: cache
        image: redis:7
`

// TestSubresourcePatches sends every patch type kubectl has to the scale
// and status subresources, as kubectl patch --subresource does (its default
// type is a strategic merge patch); metadata patched through status stays.
func TestSubresourcePatches(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "deployment", "web", "--image=nginx:1.27", "--replicas=1")
	k.runIn(replicaSetYAML, "apply", "-f", "-")

	cases := []struct {
		name, object, subresource, patchType, patch string
		jsonpath, want                              string
	}{
		{"deployments/scale strategic", "deployment/web", "scale", "strategic", `{"spec":{"replicas":2}}`, "{.spec.replicas}", "2"},
		{"deployments/scale merge", "deployment/web", "scale", "merge", `{"spec":{"replicas":3}}`, "{.spec.replicas}", "3"},
		{"deployments/scale json", "deployment/web", "scale", "json", `[{"op":"replace","path":"/spec/replicas","value":4}]`, "{.spec.replicas}", "4"},
		{"replicasets/scale strategic", "replicaset/cache", "scale", "strategic", `{"spec":{"replicas":5}}`, "{.spec.replicas}", "5"},
		{"replicasets/scale merge", "replicaset/cache", "scale", "merge", `{"spec":{"replicas":6}}`, "{.spec.replicas}", "6"},
		{"deployments/status strategic", "deployment/web", "status", "strategic", `{"status":{"collisionCount":1}}`, "{.status.collisionCount}", "1"},
		{"deployments/status merge", "deployment/web", "status", "merge", `{"status":{"collisionCount":2}}`, "{.status.collisionCount}", "2"},
		{"deployments/status json", "deployment/web", "status", "json", `[{"op":"add","path":"/status/collisionCount","value":3}]`, "{.status.collisionCount}", "3"},
		{"deployments/status keeps an annotation", "deployment/web", "status", "merge", `{"metadata":{"annotations":{"patchedstatus":"true"}},"status":{"collisionCount":4}}`, "{.metadata.annotations.patchedstatus}", "true"},
		{"replicasets/status strategic", "replicaset/cache", "status", "strategic", `{"status":{"fullyLabeledReplicas":1,"replicas":1}}`, "{.status.fullyLabeledReplicas}", "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := k.try("", "patch", c.object, "--subresource="+c.subresource, "--type="+c.patchType, "-p", c.patch)
			if err != nil {
				t.Fatalf("kubectl patch %s --subresource=%s --type=%s: %v\n%s", c.object, c.subresource, c.patchType, err, out)
			}
			if got := k.run("get", c.object, "-o", "jsonpath="+c.jsonpath); got != c.want {
				t.Errorf("%s after the patch: got %q, want %q", c.jsonpath, got, c.want)
			}
		})
	}
}
