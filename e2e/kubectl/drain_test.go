package kubectl

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

const drainDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: registry.local/web:v1
`

// readyWeb counts the web pods that are Ready and not being deleted, by
// node.
func readyWeb(pods []corev1.Pod) (total int, byNode map[string]int) {
	byNode = map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				total++
				byNode[p.Spec.NodeName]++
			}
		}
	}
	return total, byNode
}

// describePods says where each pod is and how it is, for failures.
func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s node=%q phase=%s deleting=%v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&b, " %s=%s(%s)", c.Type, c.Status, c.Reason)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " waiting:%s:%s", w.Reason, w.Message)
			}
		}
	}
	return b.String()
}

// watchAvailability follows the web pods from the list's resourceVersion
// on and records the fewest Ready pods it saw at any point.
func watchAvailability(ctx context.Context, t *testing.T, cs kubernetes.Interface) (lowest func() int) {
	list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]corev1.Pod{}
	for _, p := range list.Items {
		pods[p.Name] = p
	}
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=web", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	low := 1 << 30
	count := func() {
		var all []corev1.Pod
		for _, p := range pods {
			all = append(all, p)
		}
		n, _ := readyWeb(all)
		low = min(low, n)
	}
	count()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == "DELETED" {
				delete(pods, p.Name)
			} else {
				pods[p.Name] = *p
			}
			count()
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return low
	}
}

// TestDrainWithinBudget: kubectl drain of a node running a Deployment
// whose PodDisruptionBudget lets one pod go at a time evicts the pods one
// by one, retrying the evictions the budget refuses (429), and the pods
// come back on the other node; never fewer than minAvailable pods are
// Ready meanwhile. kubectl create, get and describe show the budget as
// Kubernetes' do.
func TestDrainWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	framework.StartControllerManager(t, srv, "--leader-elect=false")
	framework.StartScheduler(t, srv, "--leader-elect=false")
	framework.StartHollowKubelets(t, srv, 2)
	k := &kube{t: t, kubeconfig: srv.Kubeconfig()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	framework.Eventually(t, 60*time.Second, "both hollow nodes are Ready", func() error {
		for _, n := range []string{"hollow-0", "hollow-1"} {
			node, err := cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready := false
			for _, c := range node.Status.Conditions {
				ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
			}
			if !ready {
				return fmt.Errorf("node %s is not Ready", n)
			}
		}
		return nil
	})

	// Every pod starts on hollow-0.
	k.run("cordon", "hollow-1")
	k.runIn(drainDeployment, "apply", "-f", "-")
	webPods := func() []corev1.Pod {
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	framework.Eventually(t, 90*time.Second, "4 web pods Ready on hollow-0", func() error {
		pods := webPods()
		if n, by := readyWeb(pods); n != 4 || by["hollow-0"] != 4 {
			return fmt.Errorf("%d Ready, by node %v: %s", n, by, describePods(pods))
		}
		return nil
	})
	k.run("uncordon", "hollow-1")

	out := k.run("create", "pdb", "web", "--selector=app=web", "--min-available=3")
	if !strings.Contains(out, "poddisruptionbudget.policy/web created") {
		t.Fatalf("kubectl create pdb: %s", out)
	}
	framework.Eventually(t, 60*time.Second, "the budget allows one disruption", func() error {
		pdb, err := cs.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s := pdb.Status; s.DisruptionsAllowed != 1 || s.CurrentHealthy != 4 || s.DesiredHealthy != 3 || s.ExpectedPods != 4 ||
			s.ObservedGeneration != pdb.Generation {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})

	t.Run("get and describe", func(t *testing.T) {
		out := k.run("get", "pdb")
		if !regexp.MustCompile(`NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n` +
			`web\s+3\s+N/A\s+1\s+\S+\n`).MatchString(out) {
			t.Errorf("kubectl get pdb:\n%s", out)
		}
		out = k.run("describe", "pdb", "web")
		for _, want := range []string{`Min available:\s+3`, `Selector:\s+app=web`, `Allowed disruptions:\s+1`,
			`Current:\s+4`, `Desired:\s+3`, `Total:\s+4`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("kubectl describe pdb: no %q in\n%s", want, out)
			}
		}
	})

	lowest := watchAvailability(ctx, t, cs)
	drainCtx, stop := context.WithTimeout(ctx, 4*time.Minute)
	defer stop()
	cmd := k.cmd(drainCtx, "", "drain", "hollow-0", "--ignore-daemonsets", "--timeout=3m")
	drained, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl drain: %v\n%s", err, drained)
	}
	if !strings.Contains(string(drained), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Errorf("kubectl drain never met the budget's refusal:\n%s", drained)
	}
	if !strings.Contains(string(drained), "node/hollow-0 drained") {
		t.Errorf("kubectl drain output:\n%s", drained)
	}
	framework.Eventually(t, 60*time.Second, "4 web pods Ready on hollow-1", func() error {
		pods := webPods()
		if n, by := readyWeb(pods); n != 4 || by["hollow-1"] != 4 {
			return fmt.Errorf("%d Ready, by node %v: %s", n, by, describePods(pods))
		}
		return nil
	})
	if low := lowest(); low < 3 {
		t.Errorf("during the drain only %d web pods were Ready, the budget wants 3", low)
	}

	t.Run("an eviction the budget forbids is a 429", func(t *testing.T) {
		k.run("patch", "pdb", "web", "--type=merge", "-p", `{"spec":{"minAvailable":4}}`)
		framework.Eventually(t, 60*time.Second, "the budget allows no disruption", func() error {
			pdb, err := cs.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pdb.Status.ObservedGeneration != pdb.Generation || pdb.Status.DisruptionsAllowed != 0 {
				return fmt.Errorf("status %+v", pdb.Status)
			}
			return nil
		})
		pod := webPods()[0]
		err := cs.PolicyV1().Evictions("default").Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: "default"}})
		if !apierrors.IsTooManyRequests(err) {
			t.Fatalf("evict %s: got %v, want 429 TooManyRequests", pod.Name, err)
		}
		se := err.(apierrors.APIStatus).Status()
		if se.Details == nil || len(se.Details.Causes) != 1 || se.Details.Causes[0].Type != "DisruptionBudget" ||
			se.Details.Causes[0].Message != "The disruption budget web needs 4 healthy pods and has 4 currently" {
			t.Errorf("429 details: %+v", se.Details)
		}
	})
}
