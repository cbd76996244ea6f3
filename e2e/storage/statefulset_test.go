package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/e2e/framework"
)

const statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ` + image + `
        command: [sleep, infinity]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 32Mi}}
`

// TestStatefulSetClaims: a StatefulSet of 2 with volumeClaimTemplates gets
// two bound claims of the default class, and each pod finds its own data
// again after it is deleted and made anew.
func TestStatefulSetClaims(t *testing.T) {
	cl := startCluster(t, []string{"node-a", "node-b"})
	ctx := context.Background()
	cl.apply(t, statefulSet)
	pods := []string{"web-0", "web-1"}
	for _, p := range pods {
		cl.waitPodPhase(t, p, corev1.PodRunning)
		claim := cl.waitClaimBound(t, "data-"+p)
		if *claim.Spec.StorageClassName != "standard" {
			t.Fatalf("claim %s in class %q, want standard", claim.Name, *claim.Spec.StorageClassName)
		}
		cl.exec(t, p, "write", "/data/owner", p)
	}
	for _, p := range pods {
		old := cl.getPod(t, p).UID
		if err := cl.kube.CoreV1().Pods(ns).Delete(ctx, p, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, timeout, p+" made anew and Running", func() error {
			got, err := cl.kube.CoreV1().Pods(ns).Get(ctx, p, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got.UID == old || got.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("uid %s (old %s), phase %s", got.UID, old, got.Status.Phase)
			}
			return nil
		})
		if got := cl.exec(t, p, "cat", "/data/owner"); got != p {
			t.Errorf("%s reads %q from its volume after the restart, want %q", p, got, p)
		}
	}
	list, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("%d claims (%v), want 2", len(list.Items), err)
	}
}

// exec runs a command in the pod's container with kubectl exec and
// returns its output.
func (cl *cluster) exec(t testing.TB, pod string, command ...string) string {
	t.Helper()
	out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", append([]string{"exec", pod, "--"}, command...)...)
	if err != nil {
		t.Fatalf("kubectl exec %s %v: %v\n%s", pod, command, err, out)
	}
	return strings.TrimSpace(out)
}
