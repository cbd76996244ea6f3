package api

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/registry"
)

// widgetCRD is a namespaced CRD of group g with a small schema.
func widgetCRD(tb testing.TB, group string) *apiextensionsv1.CustomResourceDefinition {
	tb.Helper()
	doc := fmt.Sprintf(`{"metadata":{"name":"widgets.%[1]s"},"spec":{"group":"%[1]s","scope":"Namespaced",
"names":{"plural":"widgets","singular":"widget","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object",
"properties":{"spec":{"type":"object","properties":{"size":{"type":"integer","minimum":0},"colour":{"type":"string","default":"blue"}}},
"status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}}}}]}}`, group)
	var crd apiextensionsv1.CustomResourceDefinition
	if err := kjson.Unmarshal([]byte(doc), &crd); err != nil {
		tb.Fatal(err)
	}
	return &crd
}

// installCRD creates a CRD and waits until a widget can be created; it
// returns the widgets' backend and how long that took.
func installCRD(tb testing.TB, a *API, group string) (registry.Backend, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	if _, err := a.Backend("apiextensions.k8s.io", "customresourcedefinitions").Create(ctx, widgetCRD(tb, group), registry.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if e, ok := a.Catalog.Snapshot().Lookup(group, "v1", "widgets"); ok {
			if _, err := e.Backend.Create(ctx, widget("probe"), registry.CreateOptions{}); err == nil {
				return e.Backend, time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("widgets.%s not served within 30 s", group)
		}
		time.Sleep(time.Millisecond) // polling the catalog, a benchmark's own wait
	}
}

// runs numbers the runs of a benchmark, so names stay unique when the
// benchmark runs again (-count, b.N probing).
var runs atomic.Int64

func widget(name string) *apiextensionsv1.CustomObject {
	return &apiextensionsv1.CustomObject{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "bench"}},
		Content: &apiextensionsv1.JSON{Raw: []byte(`{"spec":{"size":3,"colour":"red"}}`)}}
}

// BenchmarkCreateCustomVsConfigMap: creating custom objects against
// creating ConfigMaps of about the same size, in one run.
func BenchmarkCreateCustomVsConfigMap(b *testing.B) {
	a := newBenchAPI(b)
	widgets, _ := installCRD(b, a, "bench.example.com")
	cms := a.Backend("", "configmaps")
	ctx := context.Background()
	b.Run("configmap", func(b *testing.B) {
		run := runs.Add(1)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cm := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d-%d", run, i), Namespace: "default",
				Labels: map[string]string{"app": "bench"}}, Data: map[string]string{"size": "3", "colour": "red"}}
			if _, err := cms.Create(ctx, cm, registry.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("custom", func(b *testing.B) {
		run := runs.Add(1)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := widgets.Create(ctx, widget(fmt.Sprintf("w-%d-%d", run, i)), registry.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkApplyVsUpdateDeployment: a server-side apply of a Deployment
// changing its replicas, against a plain update doing the same, with the
// latencies' p50 and p99.
func BenchmarkApplyVsUpdateDeployment(b *testing.B) {
	a := newBenchAPI(b)
	deps := a.Backend("apps", "deployments")
	ctx := context.Background()
	b.Run("update", func(b *testing.B) {
		obj, err := deps.Create(ctx, deployment(fmt.Sprintf("updated-%d", runs.Add(1))), registry.CreateOptions{FieldManager: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		current := obj.(*appsv1.Deployment)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			next := proto.Clone(current).(*appsv1.Deployment)
			next.Spec.Replicas = proto.Int32(int32(i%5 + 1))
			start := time.Now()
			out, err := deps.Update(ctx, next, registry.UpdateOptions{FieldManager: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			current = out.(*appsv1.Deployment)
		}
		reportPercentiles(b, lat)
	})
	b.Run("apply", func(b *testing.B) {
		const manifest = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"applied"},"spec":{"replicas":%d,
"selector":{"matchLabels":{"app":"applied"}},"template":{"metadata":{"labels":{"app":"applied"}},
"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			body := []byte(fmt.Sprintf(manifest, i%5+1))
			start := time.Now()
			if _, err := deps.Patch(ctx, "default", "applied", registry.Patch{Type: registry.PatchApply, Data: body},
				registry.UpdateOptions{FieldManager: "bench"}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		reportPercentiles(b, lat)
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkCRDServed: from creating a CRD to its resource being served (a
// create through it succeeding), one new CRD per op.
func BenchmarkCRDServed(b *testing.B) {
	a := newBenchAPI(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		_, took := installCRD(b, a, fmt.Sprintf("g%d-%d.example.com", runs.Add(1), i))
		total += took
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-served")
}
