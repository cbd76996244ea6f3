package runtimeclass

import (
	"context"
	"maps"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// classes is a runtimeclasses backend that can only get.
type classes struct {
	registry.Backend
	byName map[string]*nodev1.RuntimeClass
}

func (c classes) Get(_ context.Context, _, name string, _ registry.GetOptions) (proto.Message, error) {
	rc, ok := c.byName[name]
	if !ok {
		return nil, apierrors.NewNotFound(apierrors.Resource{Group: "node.k8s.io", Resource: "runtimeclasses"}, name)
	}
	return proto.Clone(rc), nil
}

func q(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }

func TestAdmit(t *testing.T) {
	admit := Admit(classes{byName: map[string]*nodev1.RuntimeClass{
		"plain": {Handler: "runc"},
		"fat":   {Handler: "kata", Overhead: &nodev1.Overhead{PodFixed: map[string]*metav1.Quantity{"cpu": q("250m"), "memory": q("120Mi")}}},
		"placed": {Handler: "gvisor", Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "gvisor"},
			Tolerations: []*corev1.Toleration{
				{Key: "sandbox", Operator: "Exists", Effect: "NoSchedule"},
				{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(600)},
			}}},
	}})
	pod := func(class string, change func(*corev1.PodSpec)) *corev1.Pod {
		s := &corev1.PodSpec{Tolerations: []*corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(300)}}}
		if class != "" {
			s.RuntimeClassName = proto.String(class)
		}
		if change != nil {
			change(s)
		}
		return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: s}
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		refused string // the Forbidden message, "" when admitted
		check   func(*testing.T, *corev1.PodSpec)
	}{
		{name: "no class", pod: pod("", nil)},
		{name: "missing class", pod: pod("gone", nil), refused: `pods "p" is forbidden: pod rejected: RuntimeClass "gone" not found`},
		{name: "class without overhead", pod: pod("plain", nil), check: func(t *testing.T, s *corev1.PodSpec) {
			if len(s.GetOverhead()) != 0 {
				t.Errorf("overhead: got %v, want none", s.GetOverhead())
			}
		}},
		{name: "overhead set", pod: pod("fat", nil), check: func(t *testing.T, s *corev1.PodSpec) {
			if s.GetOverhead()["cpu"].GetString_() != "250m" || s.GetOverhead()["memory"].GetString_() != "120Mi" {
				t.Errorf("overhead: got %v, want cpu 250m, memory 120Mi", s.GetOverhead())
			}
		}},
		{name: "the same overhead, written otherwise", pod: pod("fat", func(s *corev1.PodSpec) {
			s.Overhead = map[string]*metav1.Quantity{"cpu": q("0.25"), "memory": q("120Mi")}
		})},
		{name: "another overhead", pod: pod("fat", func(s *corev1.PodSpec) { s.Overhead = map[string]*metav1.Quantity{"cpu": q("1")} }),
			refused: `pods "p" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`},
		{name: "overhead without a class overhead", pod: pod("plain", func(s *corev1.PodSpec) { s.Overhead = map[string]*metav1.Quantity{"cpu": q("1")} }),
			refused: `pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`},
		{name: "overhead without a class", pod: pod("", func(s *corev1.PodSpec) { s.Overhead = map[string]*metav1.Quantity{"cpu": q("1")} }),
			refused: `pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`},
		{name: "scheduling merged", pod: pod("placed", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }),
			check: func(t *testing.T, s *corev1.PodSpec) {
				if want := map[string]string{"zone": "a", "sandbox": "gvisor"}; !maps.Equal(s.GetNodeSelector(), want) {
					t.Errorf("node selector: got %v, want %v", s.GetNodeSelector(), want)
				}
				// The class's 600 s not-ready toleration covers the pod's
				// 300 s one, which goes; the sandbox one is added.
				if len(s.GetTolerations()) != 2 || s.GetTolerations()[0].GetKey() != "sandbox" || s.GetTolerations()[1].GetTolerationSeconds() != 600 {
					t.Errorf("tolerations: got %v, want the class's sandbox and not-ready (600 s)", s.GetTolerations())
				}
			}},
		{name: "node selector conflict", pod: pod("placed", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"sandbox": "kata"} }),
			refused: `pods "p" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = gvisor; pod.spec.nodeSelector[sandbox] = kata`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := admit(context.Background(), &registry.Write{Operation: registry.OpCreate, Name: "p", Object: tt.pod})
			if tt.refused != "" {
				if apierrors.ReasonOf(err) != apierrors.ReasonForbidden || err.Error() != tt.refused {
					t.Fatalf("got %v, want Forbidden %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want the pod admitted", err)
			}
			if tt.check != nil {
				tt.check(t, tt.pod.GetSpec())
			}
		})
	}
}

func TestMergeTolerations(t *testing.T) {
	exists := func(key, effect string) *corev1.Toleration {
		return &corev1.Toleration{Key: key, Operator: "Exists", Effect: effect}
	}
	tests := []struct {
		name          string
		first, second []*corev1.Toleration
		want          []*corev1.Toleration
	}{
		{"disjoint", []*corev1.Toleration{exists("a", "")}, []*corev1.Toleration{exists("b", "")},
			[]*corev1.Toleration{exists("a", ""), exists("b", "")}},
		{"equal once", []*corev1.Toleration{exists("a", "NoSchedule")}, []*corev1.Toleration{exists("a", "NoSchedule")},
			[]*corev1.Toleration{exists("a", "NoSchedule")}},
		{"any effect covers one", []*corev1.Toleration{exists("a", "NoSchedule")}, []*corev1.Toleration{exists("a", "")},
			[]*corev1.Toleration{exists("a", "")}},
		{"every key covers all", []*corev1.Toleration{exists("a", ""), {Key: "b", Operator: "Equal", Value: "v"}}, []*corev1.Toleration{exists("", "")},
			[]*corev1.Toleration{exists("", "")}},
		{"equal value", []*corev1.Toleration{{Key: "a", Operator: "Equal", Value: "v"}}, []*corev1.Toleration{{Key: "a", Operator: "Equal", Value: "w"}},
			[]*corev1.Toleration{{Key: "a", Operator: "Equal", Value: "v"}, {Key: "a", Operator: "Equal", Value: "w"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MergeTolerations(tt.first, tt.second)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if !proto.Equal(got[i], tt.want[i]) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
