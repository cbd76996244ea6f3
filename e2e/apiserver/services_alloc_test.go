package apiserver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// TestServiceAllocation: cluster IPs and node ports from kubectl and
// client-go, never duplicated under concurrent creates, freed by delete and
// by a type change, and kept across a restart.
func TestServiceAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, serviceRange, _ := net.ParseCIDR("10.96.0.0/12")
	newClients := func() *kubernetes.Clientset {
		cfg := srv.RESTConfig()
		cfg.QPS, cfg.Burst = 500, 500
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cs := newClients()
	svcs := cs.CoreV1().Services("default")
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, srv.Kubeconfig(), "", args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}

	kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
	webIP := kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
	if ip := net.ParseIP(webIP); ip == nil || !serviceRange.Contains(ip) || webIP == "10.96.0.1" {
		t.Fatalf("web got clusterIP %q, want an address of 10.96.0.0/12 other than 10.96.0.1", webIP)
	}
	kubectl("create", "service", "nodeport", "np", "--tcp=80:8080")
	npPort, err := strconv.Atoi(kubectl("get", "service", "np", "-o", "jsonpath={.spec.ports[0].nodePort}"))
	if err != nil || npPort < 30000 || npPort > 32767 {
		t.Fatalf("np got nodePort %d (%v), want one of 30000-32767", npPort, err)
	}

	// The kubernetes Service.
	var k8s *corev1.Service
	framework.Eventually(t, 30*time.Second, "the kubernetes service", func() error {
		k8s, err = svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
		return err
	})
	if k8s.Spec.ClusterIP != "10.96.0.1" || len(k8s.Spec.Ports) != 1 || k8s.Spec.Ports[0].Port != 443 || k8s.Spec.Ports[0].TargetPort.IntValue() != srv.Port {
		t.Errorf("kubernetes service: clusterIP %s ports %v, want 10.96.0.1 443 -> %d", k8s.Spec.ClusterIP, k8s.Spec.Ports, srv.Port)
	}

	// The same clusterIP twice.
	_, err = svcs.Create(ctx, service("same-ip", corev1.ServiceTypeClusterIP, webIP, 0), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !hasCause(err, "spec.clusterIP", "provided IP is already allocated") {
		t.Errorf("second service with %s: got %v, want 422 with the cause on spec.clusterIP", webIP, err)
	}

	// Concurrent creates.
	const n = 500
	var mu sync.Mutex
	ips, ports := map[string]string{}, map[int32]string{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("c%d", i)
			out, err := svcs.Create(ctx, service(name, corev1.ServiceTypeNodePort, "", 0), metav1.CreateOptions{})
			if err != nil {
				t.Errorf("create %s: %v", name, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := ips[out.Spec.ClusterIP]; dup {
				t.Errorf("%s and %s both got %s", name, other, out.Spec.ClusterIP)
			}
			if other, dup := ports[out.Spec.Ports[0].NodePort]; dup {
				t.Errorf("%s and %s both got node port %d", name, other, out.Spec.Ports[0].NodePort)
			}
			ips[out.Spec.ClusterIP], ports[out.Spec.Ports[0].NodePort] = name, name
		})
	}
	wg.Wait()

	// Delete frees the address; NodePort -> ClusterIP frees the port.
	kubectl("delete", "service", "web")
	if _, err := svcs.Create(ctx, service("reuse-ip", corev1.ServiceTypeClusterIP, webIP, 0), metav1.CreateOptions{}); err != nil {
		t.Errorf("create with the freed IP %s: %v", webIP, err)
	}
	kubectl("patch", "service", "np", "-p", `{"spec":{"type":"ClusterIP"}}`)
	if _, err := svcs.Create(ctx, service("reuse-port", corev1.ServiceTypeNodePort, "", int32(npPort)), metav1.CreateOptions{}); err != nil {
		t.Errorf("create with the freed node port %d: %v", npPort, err)
	}

	// A restart keeps the allocations.
	srv.Stop()
	srv.Start()
	cs = newClients()
	svcs = cs.CoreV1().Services("default")
	_, err = svcs.Create(ctx, service("after-restart", corev1.ServiceTypeNodePort, webIP, int32(npPort)), metav1.CreateOptions{})
	if !hasCause(err, "spec.clusterIP", "provided IP is already allocated") || !hasCause(err, "spec.ports[0].nodePort", "provided port is already allocated") {
		t.Errorf("after a restart, a service asking for taken values: got %v, want both refused", err)
	}
	// The repair loop keeps them: nothing a Service uses is handed out again.
	for i := range 20 {
		out, err := svcs.Create(ctx, service(fmt.Sprintf("r%d", i), corev1.ServiceTypeNodePort, "", 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := ips[out.Spec.ClusterIP]; dup || out.Spec.ClusterIP == webIP || out.Spec.ClusterIP == "10.96.0.1" {
			t.Errorf("after a restart r%d got %s, already %s's", i, out.Spec.ClusterIP, other)
		}
		if _, dup := ports[out.Spec.Ports[0].NodePort]; dup || out.Spec.Ports[0].NodePort == int32(npPort) {
			t.Errorf("after a restart r%d got node port %d, already taken", i, out.Spec.Ports[0].NodePort)
		}
	}
	// Type changes through a strategic merge patch over client-go.
	np, err := svcs.Patch(ctx, "np", types.StrategicMergePatchType, []byte(`{"spec":{"type":"NodePort"}}`), metav1.PatchOptions{})
	if err != nil || np.Spec.Ports[0].NodePort == 0 {
		t.Errorf("np back to NodePort: %v %v", np, err)
	}
}

func service(name string, typ corev1.ServiceType, clusterIP string, nodePort int32) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Type: typ, ClusterIP: clusterIP, Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}}}
}

// hasCause reports whether err is a Status with a cause on field whose
// message says msg.
func hasCause(err error, field, msg string) bool {
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if c.Field == field && strings.Contains(c.Message, msg) {
			return true
		}
	}
	return false
}
