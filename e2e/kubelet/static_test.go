package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels: {app: static}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: server
    image: registry.skiff.local/testserver:1.0
`

// TestStaticPods: a manifest in --pod-manifest-path runs without the
// apiserver's say and shows as a mirror pod; a deleted mirror comes back
// without restarting the pod; removing the manifest stops the pod and
// removes its mirror.
func TestStaticPods(t *testing.T) {
	cl := startCluster(t)
	manifests := t.TempDir()
	if err := os.WriteFile(filepath.Join(manifests, "web.yaml"), []byte(staticManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--pod-manifest-path", manifests, "--file-check-frequency", "500ms")
	c := cl.srv.Client()
	ctx := context.Background()
	const mirror = "static-web-node-a"
	var containerID, hash string
	framework.Eventually(t, 60*time.Second, "mirror pod running", func() error {
		p, err := c.CoreV1().Pods("default").Get(ctx, mirror)
		if err != nil {
			return err
		}
		hash = p.GetMetadata().GetAnnotations()["kubernetes.io/config.mirror"]
		if hash == "" || p.GetSpec().GetNodeName() != "node-a" {
			return fmt.Errorf("not a mirror pod of node-a: %v", p.GetMetadata().GetAnnotations())
		}
		if p.GetStatus().GetPhase() != "Running" || p.GetStatus().GetPodIp() == "" {
			return fmt.Errorf("phase %q ip %q", p.GetStatus().GetPhase(), p.GetStatus().GetPodIp())
		}
		containerID = containerStatus(p).GetContainerId()
		return nil
	})
	if body := httpGet(t, "http://"+getPod(t, c, mirror).GetStatus().GetPodIp()+":8080/"); body != mirror+"\n" {
		t.Errorf("static pod answered %q, want its name", body)
	}

	// The mirror is deleted: it comes back, the pod keeps running.
	old := getPod(t, c, mirror).GetMetadata().GetUid()
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "delete", "pod", mirror, "--wait=false"); err != nil {
		t.Fatalf("kubectl delete: %v\n%s", err, out)
	}
	framework.Eventually(t, 30*time.Second, "mirror pod recreated", func() error {
		p, err := c.CoreV1().Pods("default").Get(ctx, mirror)
		if err != nil {
			return err
		}
		if p.GetMetadata().GetUid() == old || p.GetMetadata().GetDeletionTimestamp() != nil {
			return fmt.Errorf("still the old mirror")
		}
		if got := containerStatus(p).GetContainerId(); got != containerID {
			return fmt.Errorf("container %q, want the same %q", got, containerID)
		}
		return nil
	})

	// The manifest goes: the pod stops and the mirror is deleted.
	if err := os.Remove(filepath.Join(manifests, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "static pod gone", func() error {
		if _, err := c.CoreV1().Pods("default").Get(ctx, mirror); !client.IsNotFound(err) {
			return fmt.Errorf("mirror pod still there (%v)", err)
		}
		if n := len(sandboxesOf(t, cl.ctd, hash)); n != 0 {
			return fmt.Errorf("%d sandboxes left", n)
		}
		return nil
	})
}
