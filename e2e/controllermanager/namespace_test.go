package controllermanager

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

func TestDeletingANamespaceLeavesNothing(t *testing.T) {
	c := startCluster(t)
	c.kubectl("", "create", "namespace", "bulk")
	c.kubectl(strings.ReplaceAll(webDeployment, "namespace: default", "namespace: bulk"), "apply", "-f", "-")
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			meta := &metav1.ObjectMeta{Name: fmt.Sprintf("obj-%d", i), Namespace: "bulk"}
			var err error
			switch i % 4 {
			case 0:
				_, err = c.c.CoreV1().ConfigMaps("bulk").Create(c.ctx, &corev1.ConfigMap{Metadata: meta}, client.WriteOptions{})
			case 1:
				_, err = c.c.CoreV1().Secrets("bulk").Create(c.ctx, &corev1.Secret{Metadata: meta}, client.WriteOptions{})
			case 2:
				_, err = c.c.CoreV1().ServiceAccounts("bulk").Create(c.ctx, &corev1.ServiceAccount{Metadata: meta}, client.WriteOptions{})
			default:
				_, err = c.c.CoreV1().Services("bulk").Create(c.ctx, &corev1.Service{Metadata: meta, Spec: &corev1.ServiceSpec{
					Ports: []*corev1.ServicePort{{Port: 80}}}}, client.WriteOptions{})
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.kubectl("", "rollout", "status", "deployment/web", "-n", "bulk", "--timeout=90s")

	c.kubectl("", "delete", "namespace", "bulk", "--timeout=90s")
	framework.Eventually(t, 60*time.Second, "the namespace is gone", func() error {
		if _, err := c.c.CoreV1().Namespaces().Get(c.ctx, "bulk"); !client.IsNotFound(err) {
			return fmt.Errorf("namespace: %v", err)
		}
		return nil
	})
	left := c.kubectl("", "get", "pods,rs,deploy,cm,secrets,sa,svc", "-n", "bulk", "-o", "jsonpath={.items[*].metadata.name}")
	if strings.TrimSpace(left) != "" {
		t.Fatalf("left in the deleted namespace: %s", left)
	}
}

// TestDeletingANamespaceWhosePodsLostTheirNode: pods bound to a Node that
// is gone have no kubelet to finish their graceful deletion; the pod
// garbage collector force-deletes them after its quarantine, so the
// namespace still goes away.
func TestDeletingANamespaceWhosePodsLostTheirNode(t *testing.T) {
	c := startCluster(t)
	c.kubectl("", "create", "namespace", "stranded")
	onA := strings.Replace(strings.ReplaceAll(webDeployment, "namespace: default", "namespace: stranded"),
		"      containers:\n", "      nodeSelector: {kubernetes.io/hostname: node-a}\n      containers:\n", 1)
	c.kubectl(onA, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "-n", "stranded", "--timeout=90s")

	// node-a's kubelet dies and its Node is deleted (as a cloud
	// controller deletes the Node of an instance that is gone).
	c.kubelet.StopRenewing("node-a")
	c.kubectl("", "delete", "node", "node-a")
	c.kubectl("", "delete", "namespace", "stranded", "--wait=false")
	framework.Eventually(t, 90*time.Second, "the namespace is gone", func() error {
		if _, err := c.c.CoreV1().Namespaces().Get(c.ctx, "stranded"); !client.IsNotFound(err) {
			pods, _ := c.c.CoreV1().Pods("stranded").List(c.ctx, client.ListOptions{})
			return fmt.Errorf("namespace: %v; %d pods left", err, len(pods.GetItems()))
		}
		return nil
	})
}
