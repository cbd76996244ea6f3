package preemption

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

func labelled(name string, app string) *corev1.Pod {
	p := pod(name, 100, 0, 1)
	if app != "" {
		p.Metadata.Labels = map[string]string{"app": app}
	}
	return p
}

func pdb(namespace, app string, allowed int32, disrupted ...string) *policyv1.PodDisruptionBudget {
	b := &policyv1.PodDisruptionBudget{Metadata: &metav1.ObjectMeta{Name: "pdb-" + app, Namespace: namespace},
		Spec:   &policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		Status: &policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, DisruptedPods: map[string]*timestamppb.Timestamp{}}}
	for _, d := range disrupted {
		b.Status.DisruptedPods[d] = timestamppb.New(now)
	}
	return b
}

func TestPDBsSplit(t *testing.T) {
	tests := []struct {
		name          string
		pdbs          []*policyv1.PodDisruptionBudget
		pods          []*corev1.Pod
		wantViolating []string
	}{
		{"no budgets", nil, []*corev1.Pod{labelled("a", "web")}, nil},
		{"allowance spent in order", []*policyv1.PodDisruptionBudget{pdb("default", "web", 1)},
			[]*corev1.Pod{labelled("a", "web"), labelled("b", "web"), labelled("c", "web")}, []string{"b", "c"}},
		{"other namespace", []*policyv1.PodDisruptionBudget{pdb("other", "web", 0)}, []*corev1.Pod{labelled("a", "web")}, nil},
		{"unlabelled pods are never protected", []*policyv1.PodDisruptionBudget{pdb("default", "web", 0)}, []*corev1.Pod{labelled("a", "")}, nil},
		{"already disrupted pods spend nothing", []*policyv1.PodDisruptionBudget{pdb("default", "web", 0, "a")},
			[]*corev1.Pod{labelled("a", "web"), labelled("b", "web")}, []string{"b"}},
		{"empty selector matches nothing", []*policyv1.PodDisruptionBudget{func() *policyv1.PodDisruptionBudget {
			b := pdb("default", "web", 0)
			b.Spec.Selector = &metav1.LabelSelector{}
			return b
		}()}, []*corev1.Pod{labelled("a", "web")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := PDBs{List: func() []*policyv1.PodDisruptionBudget { return tt.pdbs }}
			violating, rest := b.Split(tt.pods)
			if got := names(violating); !slices.Equal(got, tt.wantViolating) {
				t.Errorf("violating %v, want %v", got, tt.wantViolating)
			}
			if len(violating)+len(rest) != len(tt.pods) {
				t.Errorf("split %d+%d pods, want %d", len(violating), len(rest), len(tt.pods))
			}
		})
	}
}
