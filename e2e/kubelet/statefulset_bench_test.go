package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// BenchmarkStatefulSetHollow times a StatefulSet of 100 replicas on 20
// hollow nodes from its creation until its status counts every replica
// Ready, with Parallel pod management (all pods at once) and with
// OrderedReady (one pod at a time, each Ready before the next). Run with
// -benchtime=1x.
func BenchmarkStatefulSetHollow(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for _, policy := range []string{"Parallel", "OrderedReady"} {
		b.Run(policy, func(b *testing.B) {
			for range b.N {
				statefulSetRun(b, policy, 20, 100)
			}
		})
	}
}

func statefulSetRun(b *testing.B, policy string, nodes int, replicas int32) {
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
		if len(list.GetItems()) < nodes {
			return fmt.Errorf("%d of %d nodes", len(list.GetItems()), nodes)
		}
		return nil
	})
	sets := client.For[*appsv1.StatefulSet, *appsv1.StatefulSetList](c, "default")
	s := &appsv1.StatefulSet{Metadata: &metav1.ObjectMeta{Name: "hollow"},
		Spec: &appsv1.StatefulSetSpec{Replicas: &replicas, PodManagementPolicy: policy, ServiceName: "hollow",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hollow"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "hollow"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}}}
	start := time.Now()
	if _, err := sets.Create(ctx, s, client.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	framework.Eventually(b, 10*time.Minute, "all replicas ready", func() error {
		got, err := sets.Get(ctx, "hollow")
		if err != nil {
			return err
		}
		if got.GetStatus().GetReadyReplicas() < replicas {
			return fmt.Errorf("%d of %d ready", got.GetStatus().GetReadyReplicas(), replicas)
		}
		return nil
	})
	took := time.Since(start)
	b.ReportMetric(took.Seconds(), "s-all-ready")
	b.ReportMetric(float64(replicas)/took.Seconds(), "pods/s")
}
