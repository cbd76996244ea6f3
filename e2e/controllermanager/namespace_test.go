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
