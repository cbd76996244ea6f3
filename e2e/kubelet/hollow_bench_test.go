package kubelet

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// BenchmarkHollowNodes measures the control plane against many simulated
// nodes in one kubelet process (--runtime=fake --hollow-nodes): how long
// the nodes take to register and turn Ready, and how long a Deployment
// takes until every pod reports Running. Reports the kubelet process's
// peak RSS. Run with -benchtime=1x.
func BenchmarkHollowNodes(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for _, tc := range []struct{ nodes, pods int }{{100, 1000}, {1000, 3000}} {
		b.Run(fmt.Sprintf("nodes=%d/pods=%d", tc.nodes, tc.pods), func(b *testing.B) {
			for range b.N {
				hollowRun(b, tc.nodes, tc.pods)
			}
		})
	}
}

// BenchmarkHollowNodesWatchIndex is the 1,000-node run twice, with the
// apiserver's watch cache finding a change's watchers through its index
// (by spec.nodeName and namespace) and without it (every change matched
// against every watcher), and reports the apiserver's CPU time in each.
func BenchmarkHollowNodesWatchIndex(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%t", index), func(b *testing.B) {
			for range b.N {
				hollowRun(b, 1000, 3000, fmt.Sprintf("--watch-cache-index=%t", index))
			}
		})
	}
}

func hollowRun(b *testing.B, nodes, replicas int, apiserverFlags ...string) {
	srv := framework.StartAPIServer(b, apiserverFlags...)
	cpuBefore, err := framework.CPUTime(srv.Pid())
	if err != nil {
		b.Fatal(err)
	}
	framework.StartScheduler(b, srv)
	framework.StartControllerManager(b, srv)
	c := srv.Client()
	ctx := context.Background()
	start := time.Now()
	kubelet := framework.StartHollowKubelets(b, srv, nodes)
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
	b.ReportMetric(time.Since(start).Seconds(), "s-nodes-ready")

	n := int32(replicas)
	d := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "hollow"},
		Spec: &appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hollow"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "hollow"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}}}
	start = time.Now()
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, client.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	framework.Eventually(b, 10*time.Minute, "pods running", func() error {
		list, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=hollow", FieldSelector: "status.phase=Running"})
		if err != nil {
			return err
		}
		if got := len(list.GetItems()); got < replicas {
			return fmt.Errorf("%d of %d running", got, replicas)
		}
		return nil
	})
	took := time.Since(start)
	b.ReportMetric(took.Seconds(), "s-pods-running")
	b.ReportMetric(float64(replicas)/took.Seconds(), "pods/s")
	b.ReportMetric(float64(peakRSS(kubelet.Pid()))/(1<<20), "kubelet-MiB")
	if cpu, err := framework.CPUTime(srv.Pid()); err == nil {
		b.ReportMetric((cpu - cpuBefore).Seconds(), "apiserver-cpu-s")
	}
}

// peakRSS reads a process's peak resident set size in bytes.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
