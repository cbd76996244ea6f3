package priority

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// noClasses is a priorityclasses backend that holds nothing.
type noClasses struct{ registry.Backend }

func (noClasses) Get(_ context.Context, _, name string, _ registry.GetOptions) (proto.Message, error) {
	return nil, apierrors.NewNotFound(classes, name)
}

func class(name string, value int32, def bool, policy string) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{Metadata: &metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def,
		PreemptionPolicy: proto.String(policy)}
}

func newPlugin(list ...*schedulingv1.PriorityClass) *Plugin {
	p := New(noClasses{})
	for _, pc := range list {
		p.cache.Set(pc)
	}
	return p
}

func createPod(p *Plugin, spec *corev1.PodSpec) (*corev1.Pod, error) {
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: spec}
	err := p.mutate(context.Background(), &registry.Write{Operation: registry.OpCreate, Name: "p", Object: pod})
	return pod, err
}

func TestPodPriority(t *testing.T) {
	high := class("high", 1000, false, "PreemptLowerPriority")
	polite := class("polite", 500, false, "Never")
	tests := []struct {
		name       string
		classes    []*schedulingv1.PriorityClass
		spec       *corev1.PodSpec
		wantClass  string
		wantValue  int32
		wantPolicy string
		refused    string
	}{
		{name: "no class, no default", spec: &corev1.PodSpec{}, wantValue: 0, wantPolicy: "PreemptLowerPriority"},
		{name: "global default", classes: []*schedulingv1.PriorityClass{high, class("low", 10, true, "Never")},
			spec: &corev1.PodSpec{}, wantClass: "low", wantValue: 10, wantPolicy: "Never"},
		{name: "named class", classes: []*schedulingv1.PriorityClass{high, polite},
			spec: &corev1.PodSpec{PriorityClassName: proto.String("polite")}, wantClass: "polite", wantValue: 500, wantPolicy: "Never"},
		{name: "matching priority given", classes: []*schedulingv1.PriorityClass{high},
			spec: &corev1.PodSpec{PriorityClassName: proto.String("high"), Priority: proto.Int32(1000)}, wantClass: "high", wantValue: 1000, wantPolicy: "PreemptLowerPriority"},
		{name: "unknown class", spec: &corev1.PodSpec{PriorityClassName: proto.String("nope")},
			refused: `pods "p" is forbidden: no PriorityClass with name nope was found`},
		{name: "priority that disagrees", classes: []*schedulingv1.PriorityClass{high},
			spec:    &corev1.PodSpec{PriorityClassName: proto.String("high"), Priority: proto.Int32(5)},
			refused: `pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`},
		{name: "policy that disagrees", classes: []*schedulingv1.PriorityClass{polite},
			spec:    &corev1.PodSpec{PriorityClassName: proto.String("polite"), PreemptionPolicy: proto.String("PreemptLowerPriority")},
			refused: `pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod, err := createPod(newPlugin(tt.classes...), tt.spec)
			if tt.refused != "" {
				if err == nil || err.Error() != tt.refused || !apierrors.IsForbidden(err) {
					t.Fatalf("got %v, want Forbidden %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := pod.GetSpec()
			if s.GetPriorityClassName() != tt.wantClass || s.Priority == nil || s.GetPriority() != tt.wantValue || s.GetPreemptionPolicy() != tt.wantPolicy {
				t.Errorf("got class %q priority %v policy %q, want %q %d %q", s.GetPriorityClassName(), s.Priority, s.GetPreemptionPolicy(),
					tt.wantClass, tt.wantValue, tt.wantPolicy)
			}
		})
	}
}

func TestUpdateKeepsPriority(t *testing.T) {
	p := newPlugin()
	old := &corev1.Pod{Spec: &corev1.PodSpec{Priority: proto.Int32(7), PreemptionPolicy: proto.String("Never")}}
	pod := &corev1.Pod{Spec: &corev1.PodSpec{}}
	if err := p.mutate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Object: pod, Old: old}); err != nil {
		t.Fatal(err)
	}
	if pod.GetSpec().GetPriority() != 7 || pod.GetSpec().GetPreemptionPolicy() != "Never" {
		t.Errorf("got priority %d policy %q, want 7 Never", pod.GetSpec().GetPriority(), pod.GetSpec().GetPreemptionPolicy())
	}
}

func TestOneGlobalDefault(t *testing.T) {
	p := newPlugin(class("first", 10, true, "PreemptLowerPriority"))
	write := func(op registry.Operation, pc *schedulingv1.PriorityClass) error {
		return p.validate(context.Background(), &registry.Write{Operation: op, Name: pc.GetMetadata().GetName(), Object: pc})
	}
	err := write(registry.OpCreate, class("second", 20, true, "PreemptLowerPriority"))
	want := `priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first is already marked as default. Only one default can exist`
	if err == nil || err.Error() != want {
		t.Errorf("second default: got %v, want %q", err, want)
	}
	if err := write(registry.OpCreate, class("other", 20, false, "PreemptLowerPriority")); err != nil {
		t.Errorf("non-default class: got %v, want it admitted", err)
	}
	if err := write(registry.OpUpdate, class("first", 10, true, "PreemptLowerPriority")); err != nil {
		t.Errorf("update of the default itself: got %v, want it admitted", err)
	}
	if err := write(registry.OpUpdate, class("other", 20, true, "PreemptLowerPriority")); err == nil {
		t.Errorf("update making another default: admitted, want Forbidden")
	}
}
