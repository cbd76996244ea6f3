package cloudcontroller

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const (
	finalizer          = "service.kubernetes.io/load-balancer-cleanup"
	uninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
	shutdownTaint      = "node.cloudprovider.kubernetes.io/shutdown"
	wait               = 30 * time.Second
)

type env struct {
	t   *testing.T
	ctx context.Context
	c   *client.Client
	srv *framework.APIServer
}

func setup(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, c: srv.Client(), srv: srv}
}

// file writes a file in the test's directory and returns its path.
func (e *env) file(name, content string) string {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *env) kubectl(stdin string, args ...string) string {
	e.t.Helper()
	out, err := framework.Kubectl(e.t, e.srv.Kubeconfig(), stdin, args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// createLB creates a Service of type LoadBalancer with kubectl; extra
// lines go under spec.
func (e *env) createLB(name string, spec ...string) {
	e.t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: default
spec:
  type: LoadBalancer
  selector:
    app: %s
  ports:
  - port: 80
`, name, name)
	for _, s := range spec {
		manifest += "  " + s + "\n"
	}
	e.kubectl(manifest, "create", "-f", "-")
}

func (e *env) service(name string) (*corev1.Service, error) {
	return e.c.CoreV1().Services("default").Get(e.ctx, name)
}

func ingressOf(s *corev1.Service) string {
	var ips []string
	for _, in := range s.GetStatus().GetLoadBalancer().GetIngress() {
		ips = append(ips, in.GetIp())
	}
	return strings.Join(ips, ",")
}

// waitIngress waits until a Service shows an address and returns it.
func (e *env) waitIngress(name string) string {
	e.t.Helper()
	var ip string
	framework.Eventually(e.t, wait, "service "+name+" gets a load balancer address", func() error {
		s, err := e.service(name)
		if err != nil {
			return err
		}
		if ip = ingressOf(s); ip == "" {
			return fmt.Errorf("no ingress yet")
		}
		return nil
	})
	return ip
}

// ingress reads a Service's address now ("" without one).
func (e *env) ingress(name string) string {
	e.t.Helper()
	s, err := e.service(name)
	if err != nil {
		e.t.Fatalf("get service %s: %v", name, err)
	}
	return ingressOf(s)
}

// waitGone waits until a Service no longer exists.
func (e *env) waitGone(name string) {
	e.t.Helper()
	framework.Eventually(e.t, wait, "service "+name+" is gone", func() error {
		_, err := e.service(name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there")
	})
}

// waitEvent waits for an event with reason about a Service.
func (e *env) waitEvent(name, reason string) *corev1.Event {
	e.t.Helper()
	var found *corev1.Event
	framework.Eventually(e.t, wait, fmt.Sprintf("event %s about service %s", reason, name), func() error {
		list, err := e.c.CoreV1().Events("default").List(e.ctx, client.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		for _, ev := range list.GetItems() {
			if ev.GetReason() == reason {
				found = ev
				return nil
			}
		}
		return fmt.Errorf("%d events, none %s", len(list.GetItems()), reason)
	})
	return found
}

// createNode registers a Node as a kubelet run with an external cloud
// provider does: with the uninitialized taint if asked.
func (e *env) createNode(name, podCIDR string, uninitialized bool, annotations map[string]string) {
	e.t.Helper()
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Annotations: annotations,
		Labels: map[string]string{"kubernetes.io/hostname": name}}, Spec: &corev1.NodeSpec{PodCidr: podCIDR}}
	if uninitialized {
		n.Spec.Taints = []*corev1.Taint{{Key: uninitializedTaint, Value: "true", Effect: "NoSchedule"}}
	}
	if _, err := e.c.CoreV1().Nodes().Create(e.ctx, n, client.WriteOptions{}); err != nil {
		e.t.Fatalf("create node %s: %v", name, err)
	}
}

func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.GetSpec().GetTaints(), func(t *corev1.Taint) bool { return t.GetKey() == key })
}

// waitNode waits until cond holds for a Node.
func (e *env) waitNode(name, what string, cond func(*corev1.Node) error) {
	e.t.Helper()
	framework.Eventually(e.t, wait, "node "+name+" "+what, func() error {
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, name)
		if err != nil {
			return err
		}
		return cond(n)
	})
}

// buildPlugin compiles a test provider plugin from testdata.
func buildPlugin(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// pluginPid waits for the one plugin process of a cloud-controller other
// than not, and returns its pid.
func pluginPid(t *testing.T, cc *framework.Process, not int) int {
	t.Helper()
	var pid int
	framework.Eventually(t, wait, "the cloud-controller runs its plugin", func() error {
		kids := framework.ChildPids(cc.Pid())
		if len(kids) != 1 {
			return fmt.Errorf("%d child processes: %v", len(kids), kids)
		}
		if pid = kids[0]; pid == not {
			return fmt.Errorf("still the old plugin %d", pid)
		}
		return nil
	})
	return pid
}
