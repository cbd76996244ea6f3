package limitranger

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

func qs(kv ...string) map[string]*metav1.Quantity {
	out := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return out
}

func container(name string, requests, limits map[string]*metav1.Quantity) *corev1.Container {
	return &corev1.Container{Name: name, Resources: &corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func pod(containers ...*corev1.Container) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "x", Namespace: "ns"}, Spec: &corev1.PodSpec{Containers: containers}}
}

func limitRange(items ...*corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{Metadata: &metav1.ObjectMeta{Name: "limits", Namespace: "ns"}, Spec: &corev1.LimitRangeSpec{Limits: items}}
}

func TestSetDefaults(t *testing.T) {
	lr := limitRange(
		&corev1.LimitRangeItem{Type: "Container", Default: qs("cpu", "500m", "memory", "256Mi"), DefaultRequest: qs("cpu", "100m", "memory", "128Mi")},
		&corev1.LimitRangeItem{Type: "Pod", Max: qs("cpu", "4")},
	)
	p := pod(container("web", nil, nil), container("log", qs("cpu", "50m"), qs("memory", "64Mi")))
	p.Spec.InitContainers = []*corev1.Container{{Name: "setup"}}
	SetDefaults(p, lr)
	want := []*corev1.ResourceRequirements{
		{Requests: qs("cpu", "100m", "memory", "128Mi"), Limits: qs("cpu", "500m", "memory", "256Mi")},
		{Requests: qs("cpu", "50m", "memory", "128Mi"), Limits: qs("cpu", "500m", "memory", "64Mi")},
		{Requests: qs("cpu", "100m", "memory", "128Mi"), Limits: qs("cpu", "500m", "memory", "256Mi")},
	}
	for i, c := range append(p.Spec.Containers, p.Spec.InitContainers...) {
		if !proto.Equal(c.Resources, want[i]) {
			t.Errorf("%s: got %v, want %v", c.Name, c.Resources, want[i])
		}
	}
	const note = "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web; " +
		"memory request for container log; cpu limit for container log; " +
		"cpu, memory request for init container setup; cpu, memory limit for init container setup"
	if got := p.Metadata.Annotations[annotation]; got != note {
		t.Errorf("annotation:\n got %q\nwant %q", got, note)
	}

	complete := pod(container("web", qs("cpu", "1", "memory", "1Gi"), qs("cpu", "1", "memory", "1Gi")))
	SetDefaults(complete, lr)
	if _, ok := complete.Metadata.Annotations[annotation]; ok {
		t.Error("a pod that sets everything gets no annotation")
	}
}

func TestCheck(t *testing.T) {
	containerItem := &corev1.LimitRangeItem{Type: "Container", Min: qs("cpu", "100m", "memory", "16Mi"),
		Max: qs("cpu", "1", "memory", "1Gi"), MaxLimitRequestRatio: qs("cpu", "4")}
	podItem := &corev1.LimitRangeItem{Type: "Pod", Max: qs("cpu", "2"), Min: qs("memory", "64Mi")}
	lr := limitRange(containerItem, podItem)
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"within", pod(container("a", qs("cpu", "500m", "memory", "64Mi"), qs("cpu", "1", "memory", "64Mi"))), ""},
		{"over the container max", pod(container("a", qs("cpu", "500m", "memory", "64Mi"), qs("cpu", "2", "memory", "64Mi"))),
			"maximum cpu usage per Container is 1, but limit is 2"},
		{"over the max and the ratio", pod(container("a", qs("cpu", "400m", "memory", "64Mi"), qs("cpu", "2", "memory", "64Mi"))),
			"[maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request ratio per Container is 4, but provided ratio is 5.000000]"},
		{"no limit", pod(container("a", qs("cpu", "500m", "memory", "64Mi"), qs("cpu", "500m"))),
			"maximum memory usage per Container is 1Gi.  No limit is specified"},
		{"under the min", pod(container("a", qs("cpu", "50m", "memory", "64Mi"), qs("cpu", "100m", "memory", "64Mi"))),
			"minimum cpu usage per Container is 100m, but request is 50m"},
		{"no request", pod(container("a", qs("memory", "64Mi"), qs("cpu", "100m", "memory", "64Mi"))),
			"[minimum cpu usage per Container is 100m.  No request is specified, cpu max limit to request ratio per Container is 4, but no request is specified or request is 0]"},
		{"ratio", pod(container("a", qs("cpu", "200m", "memory", "64Mi"), qs("cpu", "1", "memory", "64Mi"))),
			"cpu max limit to request ratio per Container is 4, but provided ratio is 5.000000"},
		{"pod sum over max", pod(
			container("a", qs("cpu", "1", "memory", "32Mi"), qs("cpu", "1", "memory", "32Mi")),
			container("b", qs("cpu", "1", "memory", "32Mi"), qs("cpu", "1", "memory", "32Mi")),
			container("c", qs("cpu", "500m", "memory", "32Mi"), qs("cpu", "500m", "memory", "32Mi"))),
			"maximum cpu usage per Pod is 2, but limit is 2500m"},
		{"pod sum under min", pod(container("a", qs("cpu", "500m", "memory", "32Mi"), qs("cpu", "1", "memory", "32Mi"))),
			"minimum memory usage per Pod is 64Mi, but request is 32Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.pod, lr)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
	init := pod(container("a", qs("cpu", "500m", "memory", "64Mi"), qs("cpu", "1", "memory", "64Mi")))
	init.Spec.InitContainers = []*corev1.Container{container("setup", qs("cpu", "2", "memory", "64Mi"), qs("cpu", "2", "memory", "64Mi"))}
	if err := Check(init, limitRange(containerItem)); err == nil || err.Error() != "maximum cpu usage per Container is 1, but limit is 2" {
		t.Errorf("init containers are containers too: %v", err)
	}
}

// limitRanges is a backend that lists a fixed set and counts its lists.
type limitRanges struct {
	registry.Backend
	items []*corev1.LimitRange
	lists int
}

func (b *limitRanges) List(_ context.Context, namespace string, _ registry.ListOptions) (proto.Message, error) {
	b.lists++
	out := &corev1.LimitRangeList{}
	for _, lr := range b.items {
		if lr.GetMetadata().GetNamespace() == namespace {
			out.Items = append(out.Items, proto.Clone(lr).(*corev1.LimitRange))
		}
	}
	return out, nil
}

func TestPlugin(t *testing.T) {
	backend := &limitRanges{items: []*corev1.LimitRange{limitRange(&corev1.LimitRangeItem{Type: "Container",
		Max: qs("cpu", "1"), Default: qs("cpu", "1"), DefaultRequest: qs("cpu", "250m")})}}
	l := New(backend)
	clock := time.Now()
	l.now = func() time.Time { return clock }
	p := l.Plugin()
	ctx := context.Background()
	pods := &registry.Resource{Plural: "pods", Kind: "Pod", Namespaced: true}
	create := func(obj *corev1.Pod) *registry.Write {
		return &registry.Write{Operation: registry.OpCreate, Resource: pods, Namespace: "ns", Name: "x", Object: obj}
	}

	w := create(pod(container("web", nil, nil)))
	if err := p.Mutate(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got := w.Object.(*corev1.Pod).Spec.Containers[0].Resources; !proto.Equal(got, &corev1.ResourceRequirements{
		Requests: qs("cpu", "250m"), Limits: qs("cpu", "1")}) {
		t.Errorf("defaults: got %v", got)
	}
	if err := p.Validate(ctx, w); err != nil {
		t.Errorf("the defaulted pod is within the range: %v", err)
	}

	over := create(pod(container("web", qs("cpu", "1"), qs("cpu", "2"))))
	err := p.Validate(ctx, over)
	const want = `pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	// Updates and other kinds pass.
	update := &registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "ns", Name: "x", Object: pod(container("web", qs("cpu", "1"), qs("cpu", "2"))), Old: pod()}
	if err := p.Validate(ctx, update); err != nil {
		t.Errorf("pod updates are not checked: %v", err)
	}

	// The copy is empty (never started): the live lookup is used, and
	// kept for a while.
	if backend.lists != 1 {
		t.Errorf("%d live lists, want 1 kept for the later writes", backend.lists)
	}
	clock = clock.Add(liveTTL + time.Second)
	_ = p.Validate(ctx, over)
	if backend.lists != 2 {
		t.Errorf("%d live lists, want a new one after %v", backend.lists, liveTTL)
	}
}
