package labels

import (
	"testing"

	k8smetav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"

	metav1 "skiff.dev/api/meta/v1"
)

// FuzzMatches: for every selector Kubernetes accepts (one match label and
// one requirement), Matches agrees with Kubernetes' own selector on a
// label set; no selector, valid or not, makes it panic.
func FuzzMatches(f *testing.F) {
	f.Add("app", "web", "tier", "In", "front", "back", "tier", "front")
	f.Add("app", "web", "tier", "NotIn", "db", "", "app", "web")
	f.Add("app", "", "gone", "DoesNotExist", "", "", "gone", "x")
	f.Add("a/b", "c", "x", "Exists", "", "", "a/b", "c")
	f.Add("", "", "k", "Gt", "1", "", "k", "2")
	f.Fuzz(func(t *testing.T, mk, mv, key, op, v1, v2, lk, lv string) {
		sel := &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: key, Operator: op}}}
		if mk != "" {
			sel.MatchLabels = map[string]string{mk: mv}
		}
		for _, v := range []string{v1, v2} {
			if v != "" {
				sel.MatchExpressions[0].Values = append(sel.MatchExpressions[0].Values, v)
			}
		}
		set := map[string]string{lk: lv, "app": "web"}
		got := Matches(sel, set)
		theirs, err := k8smetav1.LabelSelectorAsSelector(&k8smetav1.LabelSelector{MatchLabels: sel.GetMatchLabels(),
			MatchExpressions: []k8smetav1.LabelSelectorRequirement{{Key: key, Operator: k8smetav1.LabelSelectorOperator(op),
				Values: sel.GetMatchExpressions()[0].GetValues()}}})
		if err != nil {
			return // Kubernetes refuses this selector; validation does too
		}
		if want := theirs.Matches(k8slabels.Set(set)); got != want {
			t.Fatalf("selector %v on %v: Matches %v, Kubernetes %v", sel, set, got, want)
		}
	})
}
