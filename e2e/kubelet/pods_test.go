package kubelet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	k8scorev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: server
        image: registry.skiff.local/testserver:1.0
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
`

// TestDeploymentRuns: a Deployment applied with kubectl runs on the node,
// its pods Running and Ready (as client-go sees them too) with IPs that
// answer HTTP from the host; deleting a pod removes its sandbox, network
// namespace and IP.
func TestDeploymentRuns(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	ctx := context.Background()
	framework.WaitNodeReady(t, c, "node-a")

	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), deployment, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	var pods []*corev1.Pod
	framework.Eventually(t, 90*time.Second, "2 pods running and ready", func() error {
		list, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		pods = nil
		for _, p := range list.GetItems() {
			if p.GetStatus().GetPhase() == "Running" && podReady(p) && p.GetStatus().GetPodIp() != "" {
				pods = append(pods, p)
			}
		}
		if len(pods) != 2 {
			return fmt.Errorf("%d of 2 ready: %v", len(pods), summary(list.GetItems()))
		}
		return nil
	})
	for _, p := range pods {
		body := httpGet(t, "http://"+p.GetStatus().GetPodIp()+":8080/")
		if strings.TrimSpace(body) != p.GetMetadata().GetName() {
			t.Errorf("pod %s answered %q, want its name (its hostname)", p.GetMetadata().GetName(), body)
		}
		cs := p.GetStatus().GetContainerStatuses()
		if len(cs) != 1 || !strings.HasPrefix(cs[0].GetContainerId(), "containerd://") || cs[0].GetImageId() == "" || cs[0].GetState().GetRunning() == nil {
			t.Errorf("pod %s container status: %v", p.GetMetadata().GetName(), cs)
		}
		if p.GetStatus().GetHostIp() != framework.NodeIP(cl.ctd) {
			t.Errorf("pod %s hostIP %q, want %q", p.GetMetadata().GetName(), p.GetStatus().GetHostIp(), framework.NodeIP(cl.ctd))
		}
	}

	// client-go sees the same: typed Kubernetes pods, running and ready on
	// node-a, with their containers' state.
	cs, err := kubernetes.NewForConfig(cl.srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	kpods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("client-go list pods: %v", err)
	}
	for _, p := range kpods.Items {
		if p.Status.Phase != k8scorev1.PodRunning || p.Spec.NodeName != "node-a" || p.Status.PodIP == "" ||
			len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready || p.Status.ContainerStatuses[0].State.Running == nil {
			t.Errorf("client-go pod %s: phase %s node %s ip %q statuses %+v", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.PodIP, p.Status.ContainerStatuses)
		}
	}

	// Deleting a pod stops it and removes its sandbox and netns.
	victim := pods[0]
	sandboxes := sandboxesOf(t, cl.ctd, victim.GetMetadata().GetUid())
	if len(sandboxes) != 1 {
		t.Fatalf("pod %s has %d sandboxes, want 1", victim.GetMetadata().GetName(), len(sandboxes))
	}
	netns := sandboxNetNS(t, cl.ctd, sandboxes[0])
	// host-local keeps one file per allocated address.
	lease := filepath.Join(cl.ctd.Dir(), "cni", "ipam", cl.ctd.Network(), victim.GetStatus().GetPodIp())
	if _, err := os.Stat(lease); err != nil {
		t.Fatalf("no IP allocation for %s: %v", victim.GetStatus().GetPodIp(), err)
	}
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "delete", "pod", victim.GetMetadata().GetName(), "--wait=true"); err != nil {
		t.Fatalf("kubectl delete pod: %v\n%s", err, out)
	}
	framework.Eventually(t, 30*time.Second, "sandbox, netns and IP removed", func() error {
		if n := len(sandboxesOf(t, cl.ctd, victim.GetMetadata().GetUid())); n != 0 {
			return fmt.Errorf("%d sandboxes left", n)
		}
		if _, err := os.Stat(lease); err == nil {
			return fmt.Errorf("IP %s still allocated", victim.GetStatus().GetPodIp())
		}
		if netns != "" {
			if _, err := os.Stat(netns); err == nil {
				return fmt.Errorf("netns %s still there", netns)
			}
		}
		return nil
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func summary(pods []*corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "[%s %s ip=%s", p.GetMetadata().GetName(), p.GetStatus().GetPhase(), p.GetStatus().GetPodIp())
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			fmt.Fprintf(&b, " %s:%v", cs.GetName(), cs.GetState())
		}
		b.WriteString("] ")
	}
	return b.String()
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// sandboxesOf lists the runtime's sandboxes of a pod.
func sandboxesOf(t *testing.T, ctd *framework.Containerd, uid string) []*runtimeapi.PodSandbox {
	t.Helper()
	resp, err := ctd.RuntimeClient().ListPodSandbox(context.Background(), &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": uid}}})
	if err != nil {
		t.Fatalf("list sandboxes: %v", err)
	}
	return resp.GetItems()
}

// sandboxNetNS is the path of a sandbox's network namespace.
func sandboxNetNS(t *testing.T, ctd *framework.Containerd, s *runtimeapi.PodSandbox) string {
	t.Helper()
	resp, err := ctd.RuntimeClient().PodSandboxStatus(context.Background(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: s.GetId(), Verbose: true})
	if err != nil {
		t.Fatalf("sandbox status: %v", err)
	}
	info := resp.GetInfo()["info"]
	if i := strings.Index(info, `"netNamespacePath":"`); i >= 0 {
		rest := info[i+len(`"netNamespacePath":"`):]
		return rest[:strings.IndexByte(rest, '"')]
	}
	return ""
}
