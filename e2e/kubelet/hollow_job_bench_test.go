package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// BenchmarkHollowJob runs a Job of 1,000 completions on 50 hollow nodes
// (--runtime=fake, whose containers with the command [exit, 0] end as
// they start) with the real apiserver, scheduler and controller-manager,
// and reports completions per second from the Job's creation to its
// Complete condition, for parallelism 10 and 100. Every pod is counted:
// the Job ends with exactly 1,000 succeeded pods. Run with -benchtime=1x.
func BenchmarkHollowJob(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for _, parallelism := range []int32{10, 100} {
		b.Run(fmt.Sprintf("completions=1000/parallelism=%d", parallelism), func(b *testing.B) {
			for range b.N {
				hollowJob(b, 50, 1000, parallelism)
			}
		})
	}
}

func hollowJob(b *testing.B, nodes int, completions, parallelism int32) {
	b.StopTimer()
	srv := framework.StartAPIServer(b)
	framework.StartScheduler(b, srv)
	framework.StartControllerManager(b, srv)
	c := srv.Client()
	ctx := context.Background()
	framework.StartHollowKubelets(b, srv, nodes)
	framework.Eventually(b, 5*time.Minute, "hollow nodes ready", func() error {
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
	j := &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: "hollow"},
		Spec: &batchv1.JobSpec{Completions: proto.Int32(completions), Parallelism: proto.Int32(parallelism),
			Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: proto.String("Never"),
				Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0", Command: []string{"exit", "0"}}}}}}}
	b.StartTimer()
	start := time.Now()
	if _, err := c.BatchV1().Jobs("default").Create(ctx, j, client.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	var got *batchv1.Job
	framework.Eventually(b, 20*time.Minute, "job complete", func() error {
		var err error
		if got, err = c.BatchV1().Jobs("default").Get(ctx, "hollow"); err != nil {
			return err
		}
		for _, cond := range got.GetStatus().GetConditions() {
			if cond.GetType() == "Complete" && cond.GetStatus() == "True" {
				return nil
			}
		}
		return fmt.Errorf("%d succeeded", got.GetStatus().GetSucceeded())
	})
	took := time.Since(start)
	b.StopTimer()
	if got.GetStatus().GetSucceeded() != completions || got.GetStatus().GetFailed() != 0 {
		b.Fatalf("succeeded %d, failed %d; want %d, 0", got.GetStatus().GetSucceeded(), got.GetStatus().GetFailed(), completions)
	}
	pods, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=hollow"})
	if err != nil {
		b.Fatal(err)
	}
	if len(pods.GetItems()) != int(completions) {
		reasons := map[string]int{}
		if evs, err := c.CoreV1().Events("default").List(ctx, client.ListOptions{}); err == nil {
			for _, e := range evs.GetItems() {
				reasons[e.GetReason()] += int(e.GetCount())
			}
		}
		b.Fatalf("%d pods for %d completions; events %v", len(pods.GetItems()), completions, reasons)
	}
	b.ReportMetric(took.Seconds(), "s-complete")
	b.ReportMetric(float64(completions)/took.Seconds(), "completions/s")
}
