package proxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

// TestComponentsSyncWithLargeLists fills one namespace with 20 MiB of
// ConfigMaps (25 of about 850 KB, more than gRPC's default 4 MiB in one
// page) before the controller-manager, scheduler, kubelet and proxy start:
// each must still list and sync, so a new Deployment's pod is created,
// bound and Running, and its Service answers through the proxy's rules.
func TestComponentsSyncWithLargeLists(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	framework.NeedNetns(t)
	framework.NeedRuntime(t)
	srv := framework.StartAPIServer(t)
	cs, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fillConfigMaps(ctx, t, cs, 25, 850<<10)

	node := framework.NewNetns(t, "skp-bignode")
	node.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	ctd := framework.StartContainerdIn(t, node)
	framework.StartControllerManager(t, srv)
	framework.StartScheduler(t, srv)
	const nodeName = "big-node"
	framework.StartProxy(t, node, framework.ForwardAPIServer(t, srv, node, "proxy"),
		"--hostname-override", nodeName, "--cluster-cidr", ctd.Subnet().String(),
		"--min-sync-period", "100ms", "--healthz-bind-address", "", "--metrics-bind-address", "")
	framework.StartKubelet(t, srv, ctd, nodeName)

	labels := map[string]string{"app": "big"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "big"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr(int64(1)),
					Containers: []corev1.Container{{
						Name: "web", Image: "registry.skiff.local/testserver:1.0", ImagePullPolicy: corev1.PullNever,
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Delete the Deployment while the kubelet still runs, so it stops the pod.
	t.Cleanup(func() {
		bg := metav1.DeletePropagationForeground
		_ = cs.AppsV1().Deployments("default").Delete(ctx, "big", metav1.DeleteOptions{PropagationPolicy: &bg})
		framework.Eventually(t, time.Minute, "the Deployment's pods gone", func() error {
			pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=big"})
			if err == nil && len(pods.Items) > 0 {
				err = fmt.Errorf("%d pods left", len(pods.Items))
			}
			return err
		})
	})
	svc, err := cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "big"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var pod string
	framework.Eventually(t, 2*time.Minute, "the Deployment's pod bound to "+nodeName+" and Running", func() error {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=big"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == nodeName && p.Status.Phase == corev1.PodRunning {
				pod = p.Name
				return nil
			}
		}
		return fmt.Errorf("pods: %d, none Running on %s", len(pods.Items), nodeName)
	})
	id := runningContainer(ctx, t, ctd, pod)
	url := "http://" + svc.Spec.ClusterIP + "/"
	framework.Eventually(t, time.Minute, "the pod answers through its Service at "+url, func() error {
		resp, err := ctd.RuntimeClient().ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"get", url}, Timeout: 10})
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(resp.GetStdout())); resp.GetExitCode() != 0 || got != pod {
			return fmt.Errorf("get %s: exit %d, answer %q: %s", url, resp.GetExitCode(), got, resp.GetStderr())
		}
		return nil
	})
}

// fillConfigMaps creates n ConfigMaps of size bytes each in default.
func fillConfigMaps(ctx context.Context, t *testing.T, cs kubernetes.Interface, n, size int) {
	t.Helper()
	data := strings.Repeat("x", size)
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%02d", i)}, Data: map[string]string{"data": data}}
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ConfigMap %d: %v", i, err)
		}
	}
}

// runningContainer is the id of pod's running container.
func runningContainer(ctx context.Context, t *testing.T, ctd *framework.Containerd, pod string) string {
	t.Helper()
	var id string
	framework.Eventually(t, time.Minute, pod+"'s container running", func() error {
		resp, err := ctd.RuntimeClient().ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
			LabelSelector: map[string]string{"io.kubernetes.pod.name": pod},
		}})
		if err != nil {
			return err
		}
		if len(resp.GetContainers()) != 1 {
			return fmt.Errorf("%d running containers", len(resp.GetContainers()))
		}
		id = resp.GetContainers()[0].GetId()
		return nil
	})
	return id
}
