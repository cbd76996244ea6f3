package validation

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func qs(kv ...string) map[string]*metav1.Quantity {
	out := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return out
}

func TestValidateLimitRange(t *testing.T) {
	item := func(typ string, set func(*corev1.LimitRangeItem)) *corev1.LimitRange {
		it := &corev1.LimitRangeItem{Type: typ}
		set(it)
		return &corev1.LimitRange{Spec: &corev1.LimitRangeSpec{Limits: []*corev1.LimitRangeItem{it}}}
	}
	expectMessages(t, ValidateLimitRange(item("Container", func(it *corev1.LimitRangeItem) {
		it.Min, it.Max = qs("cpu", "100m", "memory", "4Mi"), qs("cpu", "2", "memory", "1Gi")
		it.Default, it.DefaultRequest = qs("cpu", "1"), qs("cpu", "500m")
		it.MaxLimitRequestRatio = qs("cpu", "4")
	})))
	tests := []struct {
		name string
		lr   *corev1.LimitRange
		want []string
	}{
		{"unknown type", item("Deployment", func(*corev1.LimitRangeItem) {}),
			[]string{`spec.limits[0].type: Invalid value: "Deployment": must be a standard limit type or fully qualified`}},
		{"duplicate type", &corev1.LimitRange{Spec: &corev1.LimitRangeSpec{Limits: []*corev1.LimitRangeItem{{Type: "Pod"}, {Type: "Pod"}}}},
			[]string{`spec.limits[1].type: Duplicate value: "Pod"`}},
		{"min over max", item("Container", func(it *corev1.LimitRangeItem) { it.Min, it.Max = qs("cpu", "2"), qs("cpu", "1") }),
			[]string{`spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1`}},
		{"defaults out of range", item("Container", func(it *corev1.LimitRangeItem) {
			it.Min, it.Max = qs("memory", "1Gi"), qs("memory", "2Gi")
			it.Default, it.DefaultRequest = qs("memory", "3Gi"), qs("memory", "512Mi")
		}), []string{
			`spec.limits[0].defaultRequest[memory]: Invalid value: "512Mi": min value 1Gi is greater than default request value 512Mi`,
			`spec.limits[0].default[memory]: Invalid value: "2Gi": default value 3Gi is greater than max value 2Gi`,
		}},
		{"default request over default", item("Container", func(it *corev1.LimitRangeItem) {
			it.Default, it.DefaultRequest = qs("cpu", "1"), qs("cpu", "2")
		}), []string{`spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2 is greater than default limit value 1`}},
		{"pod defaults", item("Pod", func(it *corev1.LimitRangeItem) {
			it.Default, it.DefaultRequest = qs("cpu", "1"), qs("cpu", "1")
		}), []string{
			"spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
			"spec.limits[0].defaultRequest: Forbidden: may not be specified when `type` is 'Pod'",
		}},
		{"container resource names", item("Container", func(it *corev1.LimitRangeItem) { it.Max = qs("pods", "1", "storage", "1Gi") }), []string{
			`spec.limits[0].max[pods]: Invalid value: "pods": must be a standard resource for containers`,
			`spec.limits[0].max[storage]: Invalid value: "storage": must be a standard resource for containers`,
		}},
		{"unknown name", item("Container", func(it *corev1.LimitRangeItem) { it.Min = qs("gpu", "1") }), []string{
			`spec.limits[0].min[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`,
			`spec.limits[0].min[gpu]: Invalid value: "gpu": must be a standard resource for containers`,
		}},
		{"claims need storage bounds", item("PersistentVolumeClaim", func(it *corev1.LimitRangeItem) { it.Max = qs("memory", "1Gi") }),
			[]string{`spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided`}},
		{"ratio", item("Container", func(it *corev1.LimitRangeItem) {
			it.Min, it.Max, it.MaxLimitRequestRatio = qs("cpu", "500m"), qs("cpu", "1"), qs("cpu", "3")
		}), []string{`spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 2.000000`}},
		{"ratio below one", item("Container", func(it *corev1.LimitRangeItem) { it.MaxLimitRequestRatio = qs("memory", "500m") }),
			[]string{`spec.limits[0].maxLimitRequestRatio[memory]: Invalid value: "500m": ratio 500m is less than 1`}},
		{"huge pages cannot be overcommitted", item("Container", func(it *corev1.LimitRangeItem) {
			it.Default, it.DefaultRequest = qs("hugepages-2Mi", "4Mi"), qs("hugepages-2Mi", "2Mi")
		}), []string{`spec.limits[0].defaultRequest[hugepages-2Mi]: Invalid value: "2Mi": default value 4Mi must equal to defaultRequest value 2Mi in hugepages-2Mi`}},
		{"quantity", item("Container", func(it *corev1.LimitRangeItem) { it.Max = qs("cpu", "lots") }),
			[]string{`spec.limits[0].max[cpu]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectMessages(t, ValidateLimitRange(tt.lr), tt.want...) })
	}
}

func TestValidateResourceQuota(t *testing.T) {
	quota := func(hard map[string]*metav1.Quantity, scopes []string, sel ...*corev1.ScopedResourceSelectorRequirement) *corev1.ResourceQuota {
		q := &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
		if len(sel) > 0 {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: sel}
		}
		return q
	}
	req := func(scope, op string, values ...string) *corev1.ScopedResourceSelectorRequirement {
		return &corev1.ScopedResourceSelectorRequirement{ScopeName: scope, Operator: op, Values: values}
	}
	expectMessages(t, ValidateResourceQuota(quota(qs("pods", "10", "requests.cpu", "4", "count/deployments.apps", "2",
		"requests.example.com/gpu", "2", "services.loadbalancers", "1"), nil)))
	expectMessages(t, ValidateResourceQuota(quota(qs("pods", "10", "cpu", "2"), []string{"NotTerminating", "NotBestEffort"},
		req("PriorityClass", "In", "high"))))
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		want []string
	}{
		{"names", quota(qs("deployments", "1", "storage", "1Gi"), nil), []string{
			`spec.hard[deployments]: Invalid value: "deployments": must be a standard resource type or fully qualified`,
			`spec.hard[deployments]: Invalid value: "deployments": must be a standard resource for quota`,
			`spec.hard[storage]: Invalid value: "storage": must be a standard resource for quota`,
		}},
		{"quantities", quota(qs("cpu", "-1", "pods", "1500m", "count/pods", "0.5"), nil), []string{
			`spec.hard[count/pods]: Invalid value: "500m": must be an integer`,
			`spec.hard[cpu]: Invalid value: "-1": must be greater than or equal to 0`,
			`spec.hard[pods]: Invalid value: "1500m": must be an integer`,
		}},
		{"scopes", quota(qs("services", "1", "pods", "1"), []string{"BestEffort", "NotBestEffort", "Soon"}), []string{
			`spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Soon"]: unsupported scope applied to resource`,
			`spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Soon"]: unsupported scope applied to resource`,
			`spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Soon"]: unsupported scope`,
			`spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Soon"]: conflicting scopes`,
		}},
		{"selector", quota(qs("pods", "1"), nil, req("Terminating", "In", "x"), req("PriorityClass", "NotIn"), req("BestEffort", "Exists", "x"), req("PriorityClass", "Near")), []string{
			`spec.scopeSelector.matchExpressions.operator: Invalid value: "In": must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity`,
			"spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
			`spec.scopeSelector.matchExpressions.values: Invalid value: ["x"]: must be no value when ` + "`operator` is 'Exist' or 'DoesNotExist' for scope selector",
			`spec.scopeSelector.matchExpressions.operator: Invalid value: "Near": not a valid selector operator`,
		}},
		{"selector scope for the resource", quota(qs("services", "1"), nil, req("Terminating", "Exists"), req("Terminating", "Exists"), req("NotTerminating", "Exists")), []string{
			`spec.scopeSelector.matchExpressions: Invalid value: {"MatchExpressions":[{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"NotTerminating","Operator":"Exists","Values":null}]}: unsupported scope applied to resource`,
			`spec.scopeSelector.matchExpressions: Invalid value: {"MatchExpressions":[{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"NotTerminating","Operator":"Exists","Values":null}]}: unsupported scope applied to resource`,
			`spec.scopeSelector.matchExpressions: Invalid value: {"MatchExpressions":[{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"Terminating","Operator":"Exists","Values":null},{"ScopeName":"NotTerminating","Operator":"Exists","Values":null}]}: unsupported scope applied to resource`,
			`spec.scopeSelector.matchExpressions: Invalid value: null: conflicting scopes`,
		}},
		{"status", &corev1.ResourceQuota{Status: &corev1.ResourceQuotaStatus{Hard: qs("pods", "1"), Used: qs("pods", "-1")}},
			[]string{`status.used[pods]: Invalid value: "-1": must be greater than or equal to 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectMessages(t, ValidateResourceQuota(tt.q), tt.want...) })
	}

	old := quota(qs("pods", "1"), []string{"BestEffort"})
	expectMessages(t, ValidateResourceQuotaUpdate(quota(qs("pods", "2"), []string{"BestEffort"}), old))
	expectMessages(t, ValidateResourceQuotaUpdate(quota(qs("pods", "2"), []string{"NotBestEffort"}), old),
		`spec.scopes: Invalid value: ["NotBestEffort"]: field is immutable`)
}
