package tracing

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/telemetry"
)

// link is one step of the chain: at least min spans of service whose name
// is name.
type link struct {
	service, name string
	min           int
}

// TestDeploymentTraceCoversEveryComponent: kubectl apply of a Deployment
// (kubectl sends no traceparent, so the apiserver's server span is the
// root) yields one trace, named by the Deployment's annotation, that holds
// the apiserver's write, the controller-manager's reconciles and writes,
// the scheduler's scheduling and binding of both pods and the kubelet's CRI
// calls for both pods.
func TestDeploymentTraceCoversEveryComponent(t *testing.T) {
	col := framework.StartTraceCollector(t)
	cl := startCluster(t, col.Addr())
	cl.apply(t, deployment("web"))
	first := cl.deploymentTrace(t, "web")
	cl.waitRunning(t, "web", 2)

	chain := []link{
		{"apiserver", "POST /apis/apps/v1/namespaces/default/deployments", 1},
		{"controller-manager", "reconcile deployment", 1},
		{"controller-manager", "skiff.apps.v1.ReplicaSetService/Create", 1},
		{"controller-manager", "reconcile replicaset", 1},
		{"controller-manager", "skiff.core.v1.PodService/Create", 2},
		{"scheduler", "schedule pod", 2},
		{"scheduler", "bind pod", 2},
		{"scheduler", "skiff.core.v1.PodService/Bind", 2},
		{"kubelet", "runtime.v1.RuntimeService/RunPodSandbox", 2},
		{"kubelet", "runtime.v1.RuntimeService/CreateContainer", 2},
		{"kubelet", "runtime.v1.RuntimeService/StartContainer", 2},
		{"kubelet", "skiff.core.v1.PodService/UpdateStatus", 2},
	}
	framework.Eventually(t, 60*time.Second, "every link of the chain in trace "+first, func() error {
		return missingLinks(col.Spans(first), chain)
	})

	// Later writes (status updates, resyncs) continue the trace rather
	// than start new ones, so the annotations still name it.
	if now := cl.deploymentTrace(t, "web"); now != first {
		t.Errorf("the deployment's trace changed: got %s, want %s", now, first)
	}
	for _, m := range cl.ownedObjects(t, "web") {
		got, err := traceID(m.GetAnnotations()[telemetry.TraceAnnotation])
		if err != nil || got != first {
			t.Errorf("%s carries trace %s (%v), want the deployment's %s", m.GetName(), got, err, first)
		}
	}
	// Kinds nobody continues a trace of are stored as written: a client
	// reads back what it wrote.
	events, err := cl.c.CoreV1().Events("default").List(context.Background(), client.ListOptions{})
	if err != nil || len(events.GetItems()) == 0 {
		t.Fatalf("events: %v (%v)", events, err)
	}
	for _, ev := range events.GetItems() {
		if tp, ok := ev.GetMetadata().GetAnnotations()[telemetry.TraceAnnotation]; ok {
			t.Errorf("event %s carries the trace annotation %q, want none", ev.GetMetadata().GetName(), tp)
		}
	}
}

// ownedObjects are the metadata of the ReplicaSets and pods labelled
// app=name.
func (cl *cluster) ownedObjects(t *testing.T, name string) []*metav1.ObjectMeta {
	t.Helper()
	ctx := context.Background()
	sel := client.ListOptions{LabelSelector: "app=" + name}
	rss, err := cl.c.AppsV1().ReplicaSets("default").List(ctx, sel)
	if err != nil {
		t.Fatalf("list replica sets: %v", err)
	}
	pods, err := cl.c.CoreV1().Pods("default").List(ctx, sel)
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	var out []*metav1.ObjectMeta
	for _, rs := range rss.GetItems() {
		out = append(out, rs.GetMetadata())
	}
	for _, p := range pods.GetItems() {
		out = append(out, p.GetMetadata())
	}
	return out
}

// deploymentTrace is the trace id in a Deployment's trace annotation.
func (cl *cluster) deploymentTrace(t *testing.T, name string) string {
	t.Helper()
	d, err := cl.c.AppsV1().Deployments("default").Get(context.Background(), name)
	if err != nil {
		t.Fatalf("get deployment %s: %v", name, err)
	}
	tp := d.GetMetadata().GetAnnotations()[telemetry.TraceAnnotation]
	id, err := traceID(tp)
	if err != nil {
		t.Fatalf("deployment %s: %v", name, err)
	}
	return id
}

// traceID is the trace id of a W3C traceparent.
func traceID(traceparent string) (string, error) {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || len(parts[1]) != 32 {
		return "", fmt.Errorf("traceparent %q is not version-traceid-spanid-flags", traceparent)
	}
	return parts[1], nil
}

// missingLinks names the links of chain that spans lack, and lists what
// the trace holds.
func missingLinks(spans []framework.Span, chain []link) error {
	count := map[link]int{}
	for _, s := range spans {
		count[link{service: s.Service, name: s.Name}]++
	}
	var missing []string
	for _, l := range chain {
		if got := count[link{service: l.service, name: l.name}]; got < l.min {
			missing = append(missing, fmt.Sprintf("%s %q: got %d, want at least %d", l.service, l.name, got, l.min))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var have []string
	for l, n := range count {
		have = append(have, fmt.Sprintf("%s %q ×%d", l.service, l.name, n))
	}
	sort.Strings(have)
	return fmt.Errorf("missing:\n  %s\nthe trace holds:\n  %s", strings.Join(missing, "\n  "), strings.Join(have, "\n  "))
}
