package kubelet

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// BenchmarkDaemonSetHollowNodes measures a DaemonSet on many simulated
// nodes: from its creation until a pod runs on every node, then from an
// image change until every node runs the new image, rolled out 10% of
// the nodes at a time (maxUnavailable: 10%). Run with -benchtime=1x.
func BenchmarkDaemonSetHollowNodes(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for _, nodes := range []int{100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			for range b.N {
				daemonSetRun(b, nodes)
			}
		})
	}
}

func daemonSetRun(b *testing.B, nodes int) {
	srv := framework.StartAPIServer(b)
	framework.StartScheduler(b, srv)
	cmAddr, cmFlags := framework.SecurePort(b)
	framework.StartControllerManager(b, srv, cmFlags...)
	c := srv.Client()
	ctx := context.Background()
	framework.StartHollowKubelets(b, srv, nodes)
	framework.Eventually(b, 10*time.Minute, "hollow nodes ready", func() error {
		list, err := c.CoreV1().Nodes().List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range list.GetItems() {
			for _, cond := range n.GetStatus().GetConditions() {
				if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
					ready++
				}
			}
		}
		if ready < nodes {
			return fmt.Errorf("%d of %d ready", ready, nodes)
		}
		return nil
	})

	labels := map[string]string{"app": "daemon"}
	ds := &appsv1.DaemonSet{Metadata: &metav1.ObjectMeta{Name: "daemon"},
		Spec: &appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: &metav1.IntOrString{Type: 1, StrVal: "10%"}}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}}}
	start := time.Now()
	if _, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, client.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	allRunning(b, c, nodes, "registry.skiff.local/testserver:1.0", "s-create", start)
	reportReconciles(b, srv, cmAddr)

	start = time.Now()
	framework.Eventually(b, time.Minute, "the image changed", func() error {
		cur, err := c.AppsV1().DaemonSets("default").Get(ctx, "daemon")
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = "registry.skiff.local/testserver:2.0"
		_, err = c.AppsV1().DaemonSets("default").Update(ctx, cur, client.WriteOptions{}) // a status write may come between
		return err
	})
	allRunning(b, c, nodes, "registry.skiff.local/testserver:2.0", "s-roll", start)
}

// allRunning waits until every node runs one Running daemon pod of image
// and no other daemon pod is left, following the pods with a watch (a
// list of every pod at each poll would load the apiserver it measures).
// It reports when every node first had a pod of image created, bound and
// running, in seconds after start, as <prefix>-created and so on.
func allRunning(b *testing.B, c *client.Client, nodes int, image, prefix string, start time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pods := informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource),
		informer.Options[*corev1.Pod]{LabelSelector: "app=daemon"})
	go func() { _ = pods.Start(ctx) }()
	var created, bound time.Duration
	framework.Eventually(b, 20*time.Minute, "a running "+image+" pod on every node", func() error {
		if !pods.HasSynced() {
			return fmt.Errorf("pods not listed yet")
		}
		var made, placed, running, others int
		for _, p := range pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() != nil || p.GetSpec().GetContainers()[0].GetImage() != image {
				others++
				continue
			}
			made++
			if p.GetSpec().GetNodeName() != "" {
				placed++
			}
			if p.GetStatus().GetPhase() == "Running" {
				running++
			}
		}
		if created == 0 && made >= nodes {
			created = time.Since(start)
		}
		if bound == 0 && placed >= nodes {
			bound = time.Since(start)
		}
		if running < nodes || others > 0 {
			return fmt.Errorf("%d of %d nodes run %s, %d other pods", running, nodes, image, others)
		}
		return nil
	})
	b.ReportMetric(created.Seconds(), prefix+"-created")
	b.ReportMetric(bound.Seconds(), prefix+"-bound")
	b.ReportMetric(time.Since(start).Seconds(), prefix+"-running")
}

// reportReconciles reports the DaemonSet controller's reconciles so far
// and their mean duration, from the controller-manager's /metrics.
func reportReconciles(b *testing.B, srv *framework.APIServer, addr string) {
	code, body, err := framework.GetSecure(addr, "/metrics", srv.AdminToken())
	if err != nil || code != http.StatusOK {
		b.Logf("controller-manager metrics: %d %v", code, err)
		return
	}
	value := func(prefix string) float64 {
		var sum float64
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, prefix) {
				v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				sum += v
			}
		}
		return sum
	}
	n := value(`controller_reconcile_duration_seconds_count{controller="daemonset"}`)
	if n > 0 {
		b.ReportMetric(n, "ds-reconciles")
		b.ReportMetric(1000*value(`controller_reconcile_duration_seconds_sum{controller="daemonset"}`)/n, "ds-reconcile-ms")
	}
	b.ReportMetric(value(`controller_reconcile_total{controller="daemonset",result="error"}`), "ds-reconcile-errors")
}
