package staticpods

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	manifest := []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: c, image: example/web:1.0, livenessProbe: {tcpSocket: {port: 80}}}\n")
	path := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(path, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(dir, "node-a", nil, nil, func(string) {})
	pod, err := m.load(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := pod.GetMetadata()
	if meta.GetName() != "web-node-a" || meta.GetNamespace() != "default" || pod.GetSpec().GetNodeName() != "node-a" {
		t.Errorf("name %s/%s node %s, want default/web-node-a on node-a", meta.GetNamespace(), meta.GetName(), pod.GetSpec().GetNodeName())
	}
	if meta.GetUid() == "" || meta.GetAnnotations()[AnnotationHash] != meta.GetUid() || !IsStatic(pod) {
		t.Errorf("annotations %v uid %q", meta.GetAnnotations(), meta.GetUid())
	}
	c := pod.GetSpec().GetContainers()[0]
	if pod.GetSpec().GetRestartPolicy() != "Always" || c.GetImagePullPolicy() != "IfNotPresent" || c.GetLivenessProbe().GetFailureThreshold() != 3 {
		t.Errorf("defaults: restartPolicy %q pullPolicy %q failureThreshold %d", pod.GetSpec().GetRestartPolicy(), c.GetImagePullPolicy(), c.GetLivenessProbe().GetFailureThreshold())
	}
	// Another node, or another manifest, is another pod.
	other, _ := New(dir, "node-b", nil, nil, func(string) {}).load(path)
	if other.GetMetadata().GetUid() == meta.GetUid() {
		t.Errorf("the same uid on two nodes")
	}
	if err := os.WriteFile(path, []byte("kind: Service\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.load(path); err == nil {
		t.Errorf("a Service manifest was accepted as a static pod")
	}
}
