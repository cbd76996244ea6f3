package controllermanager

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// BenchmarkDeployment1000 times a 1,000-replica Deployment from its
// creation until every pod exists and until every pod is bound, with the
// real apiserver, scheduler and controller-manager (50 Node objects, no
// kubelet). Run with -benchtime=1x.
func BenchmarkDeployment1000(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e: skipped with -short")
	}
	const replicas = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := framework.StartAPIServer(b)
		cmAddr, serve := framework.SecurePort(b)
		cm := framework.StartControllerManager(b, srv, append(serve, "--leader-elect=false")...)
		sched := framework.StartScheduler(b, srv, "--leader-elect=false")
		c := srv.Client()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		q := func(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }
		res := map[string]*metav1.Quantity{"cpu": q("32"), "memory": q("128Gi"), "pods": q("110")}
		for n := 0; n < 50; n++ {
			node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("node-%02d", n)}}, client.WriteOptions{})
			if err != nil {
				b.Fatal(err)
			}
			node.Status = &corev1.NodeStatus{Allocatable: res, Capacity: res, Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}
			if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, client.WriteOptions{}); err != nil {
				b.Fatal(err)
			}
		}

		var mu sync.Mutex
		created, bound := map[string]bool{}, map[string]bool{}
		var allCreated, allBound time.Time
		done := make(chan struct{})
		pods := informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource), informer.Options[*corev1.Pod]{})
		seen := func(p *corev1.Pod) {
			mu.Lock()
			defer mu.Unlock()
			created[p.GetMetadata().GetName()] = true
			if p.GetSpec().GetNodeName() != "" {
				bound[p.GetMetadata().GetName()] = true
			}
			if len(created) == replicas && allCreated.IsZero() {
				allCreated = time.Now()
			}
			if len(bound) == replicas && allBound.IsZero() {
				allBound = time.Now()
				close(done)
			}
		}
		pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: seen, OnUpdate: func(_, p *corev1.Pod) { seen(p) }})
		go func() { _ = pods.Start(ctx) }()
		pods.WaitForSync(ctx)

		n := int32(replicas)
		d := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "big", Namespace: "default"},
			Spec: &appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "big"}},
				Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "big"}},
					Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}}}
		b.StartTimer()
		start := time.Now()
		if _, err := c.AppsV1().Deployments("default").Create(ctx, d, client.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-ctx.Done():
			b.Fatalf("not all pods bound: %d created, %d bound", len(created), len(bound))
		}
		b.StopTimer()
		reconciles := framework.MetricSum(srv, cmAddr, "controller_reconcile_total")
		mu.Lock()
		createdAfter, boundAfter := allCreated.Sub(start), allBound.Sub(start)
		mu.Unlock()
		b.ReportMetric(createdAfter.Seconds(), "created-s")
		b.ReportMetric(boundAfter.Seconds(), "bound-s")
		b.ReportMetric(float64(replicas)/boundAfter.Seconds(), "pods/s")
		b.ReportMetric(reconciles/boundAfter.Seconds(), "reconciles/s")
		b.Logf("%.0f reconciles, mean %.2f ms", reconciles,
			1000*framework.MetricSum(srv, cmAddr, "controller_reconcile_duration_seconds_sum")/framework.MetricSum(srv, cmAddr, "controller_reconcile_duration_seconds_count"))
		cancel()
		sched.Stop()
		cm.Stop()
		srv.Stop()
	}
}
