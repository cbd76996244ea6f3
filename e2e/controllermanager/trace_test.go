package controllermanager

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/telemetry"
)

// The trace of the write that created a Deployment reaches its ReplicaSet
// and pods: each controller continues the trace stored on the object it
// acts on, and the apiserver stores it on what the controller writes.
func TestDeploymentTraceReachesItsPods(t *testing.T) {
	c := startCluster(t)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	traceID := trace.TraceID{0x5c, 0x1f, 0xf0, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(c.ctx, sc)

	n := int32(2)
	d := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "traced", Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "traced"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "traced"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}}}
	if _, err := c.c.AppsV1().Deployments("default").Create(ctx, d, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := traceID.String()
	inTrace := func(m *metav1.ObjectMeta) error {
		tp := m.GetAnnotations()[telemetry.TraceAnnotation]
		if !strings.Contains(tp, want) {
			return fmt.Errorf("%s carries traceparent %q, want trace %s", m.GetName(), tp, want)
		}
		return nil
	}
	framework.Eventually(t, 60*time.Second, "the replica set and pods carry the deployment's trace", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rss, err := c.c.AppsV1().ReplicaSets("default").List(ctx, client.ListOptions{LabelSelector: "app=traced"})
		if err != nil {
			return err
		}
		if len(rss.GetItems()) != 1 {
			return fmt.Errorf("%d replica sets", len(rss.GetItems()))
		}
		if err := inTrace(rss.GetItems()[0].GetMetadata()); err != nil {
			return err
		}
		pods, err := c.c.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=traced"})
		if err != nil {
			return err
		}
		if len(pods.GetItems()) != 2 {
			return fmt.Errorf("%d pods", len(pods.GetItems()))
		}
		for _, p := range pods.GetItems() {
			if err := inTrace(p.GetMetadata()); err != nil {
				return err
			}
		}
		return nil
	})
}
