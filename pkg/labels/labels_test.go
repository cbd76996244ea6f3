package labels

import (
	"testing"

	metav1 "skiff.dev/api/meta/v1"
)

func TestMatches(t *testing.T) {
	set := map[string]string{"app": "web", "tier": "front"}
	req := func(key, op string, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	for name, c := range map[string]struct {
		sel  *metav1.LabelSelector
		want bool
	}{
		"nil selects nothing":   {nil, false},
		"empty selects all":     {&metav1.LabelSelector{}, true},
		"match labels":          {&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true},
		"match labels differ":   {&metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, false},
		"match labels missing":  {&metav1.LabelSelector{MatchLabels: map[string]string{"zone": "a"}}, false},
		"in":                    {req("tier", "In", "back", "front"), true},
		"in, absent":            {req("zone", "In", "a"), false},
		"not in":                {req("tier", "NotIn", "back"), true},
		"not in, absent":        {req("zone", "NotIn", "a"), true},
		"not in, present":       {req("tier", "NotIn", "front"), false},
		"exists":                {req("app", "Exists"), true},
		"does not exist":        {req("app", "DoesNotExist"), false},
		"unknown operator":      {req("app", "Gt", "1"), false},
		"labels and expression": {&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: req("zone", "Exists").MatchExpressions}, false},
	} {
		if got := Matches(c.sel, set); got != c.want {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
}
