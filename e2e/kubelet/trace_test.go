package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestCRICallsJoinThePodsTrace: the kubelet's CRI calls for a pod are spans
// of the trace of the request that created the pod.
func TestCRICallsJoinThePodsTrace(t *testing.T) {
	cl := startCluster(t)
	col := framework.StartTraceCollector(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--otlp-endpoint", col.Addr())
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")

	otel.SetTextMapPropagator(propagation.TraceContext{})
	traceID := trace.TraceID{0xc0, 0xff, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: trace.SpanID{9, 8, 7, 6, 5, 4, 3, 2}, TraceFlags: trace.FlagsSampled, Remote: true}))
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "traced"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"runtime.v1.RuntimeService/RunPodSandbox", "runtime.v1.RuntimeService/CreateContainer", "runtime.v1.RuntimeService/StartContainer"}
	framework.Eventually(t, 60*time.Second, "CRI spans in the pod's trace", func() error {
		got := map[string]bool{}
		for _, s := range col.Spans(traceID.String()) {
			if s.Service == "kubelet" {
				got[s.Name] = true
			}
		}
		for _, name := range want {
			if !got[name] {
				return fmt.Errorf("no kubelet span %s in trace %s (have %v)", name, traceID, got)
			}
		}
		return nil
	})
}
