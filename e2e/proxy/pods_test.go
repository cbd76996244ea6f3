package proxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

// TestPodsThroughTheProxy runs real pods (kubelet, containerd, runc, CNI
// bridge) on a node that is a test-made namespace, with the proxy in it
// and the controller-manager keeping the Service's EndpointSlices: a pod
// reaches its own Service and gets answers from itself and its peer.
func TestPodsThroughTheProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	for _, mode := range []string{"nftables", "iptables"} {
		t.Run(mode, func(t *testing.T) { testPods(t, mode) })
	}
}

func testPods(t *testing.T, mode string) {
	framework.NeedNetns(t)
	srv := framework.StartAPIServer(t)
	cs, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	node := framework.NewNetns(t, "skp-podnode")
	node.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	ctd := framework.StartContainerdIn(t, node)
	framework.StartControllerManager(t, srv)
	const nodeName = "pod-node"
	framework.StartProxy(t, node, framework.ForwardAPIServer(t, srv, node, "proxy"),
		"--proxy-mode", mode, "--hostname-override", nodeName, "--cluster-cidr", ctd.Subnet().String(),
		"--min-sync-period", "100ms", "--healthz-bind-address", "", "--metrics-bind-address", "")

	ctx := context.Background()
	for _, name := range []string{"pod-a", "pod-b"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{
				NodeName:                      nodeName,
				TerminationGracePeriodSeconds: ptr(int64(1)),
				Containers: []corev1.Container{{
					Name: "web", Image: "registry.skiff.local/testserver:1.0", ImagePullPolicy: corev1.PullNever,
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}},
			},
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	svc, err := cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	// The kubelet starts after its pods were bound: it must start them
	// from its first list, not only from later changes.
	framework.StartKubelet(t, srv, ctd, nodeName)
	// Delete the pods while the kubelet still runs, so it stops them.
	t.Cleanup(func() {
		for _, name := range []string{"pod-a", "pod-b"} {
			_ = cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{})
		}
	})

	var id string
	framework.Eventually(t, 2*time.Minute, "pod-a's container running", func() error {
		resp, err := ctd.RuntimeClient().ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
			LabelSelector: map[string]string{"io.kubernetes.pod.name": "pod-a"},
		}})
		if err != nil {
			return err
		}
		if len(resp.GetContainers()) != 1 {
			pod, _ := cs.CoreV1().Pods("default").Get(ctx, "pod-a", metav1.GetOptions{})
			node, _ := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
			return fmt.Errorf("got %d running containers; pod status %+v; node conditions %+v", len(resp.GetContainers()), pod.Status, node.Status.Conditions)
		}
		id = resp.GetContainers()[0].GetId()
		return nil
	})
	url := "http://" + svc.Spec.ClusterIP + "/"
	seen := map[string]bool{}
	framework.Eventually(t, 2*time.Minute, "pod-a gets answers from itself and pod-b through "+url, func() error {
		resp, err := ctd.RuntimeClient().ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"get", url}, Timeout: 10})
		if err != nil {
			return err
		}
		if resp.GetExitCode() != 0 {
			return fmt.Errorf("get %s: exit %d: %s", url, resp.GetExitCode(), resp.GetStderr())
		}
		seen[strings.TrimSpace(string(resp.GetStdout()))] = true
		if !seen["pod-a"] || !seen["pod-b"] {
			return fmt.Errorf("answers so far: %v", seen)
		}
		return nil
	})
}
