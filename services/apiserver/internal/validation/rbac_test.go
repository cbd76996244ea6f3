package validation

import (
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

// messages renders errors as the Status causes show them.
func messages(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func expectMessages(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := messages(errs)
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
			return
		}
	}
}

func TestRBACName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"system:controller:node", nil},
		{"Has Spaces", nil},
		{"a/b", []string{"may not contain '/'"}},
		{"50%", []string{"may not contain '%'"}},
		{"..", []string{"may not be '..'"}},
	} {
		got := RBACName(tc.name)
		if len(got) != len(tc.want) || len(got) > 0 && got[0] != tc.want[0] {
			t.Errorf("RBACName(%q): got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidateRoles(t *testing.T) {
	resources := &rbacv1.PolicyRule{Verbs: []string{"get"}, ApiGroups: []string{""}, Resources: []string{"pods"}}
	urls := &rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceUrls: []string{"/healthz"}}
	for _, tc := range []struct {
		name  string
		rules []*rbacv1.PolicyRule
		// role and cluster are the messages for a Role and a ClusterRole.
		role, cluster []string
	}{
		{"resources", []*rbacv1.PolicyRule{resources}, nil, nil},
		{"no rules", nil, nil, nil},
		{"non-resource URLs", []*rbacv1.PolicyRule{urls},
			[]string{`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`}, nil},
		{"no verbs", []*rbacv1.PolicyRule{{ApiGroups: []string{"apps"}, Resources: []string{"deployments"}}},
			[]string{"rules[0].verbs: Required value: verbs must contain at least one value"},
			[]string{"rules[0].verbs: Required value: verbs must contain at least one value"}},
		{"no groups or resources", []*rbacv1.PolicyRule{resources, {Verbs: []string{"*"}}},
			[]string{
				"rules[1].apiGroups: Required value: resource rules must supply at least one api group",
				"rules[1].resources: Required value: resource rules must supply at least one resource",
			},
			[]string{
				"rules[1].apiGroups: Required value: resource rules must supply at least one api group",
				"rules[1].resources: Required value: resource rules must supply at least one resource",
			}},
		{"both kinds", []*rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}, NonResourceUrls: []string{"/api", "/apis/*"}}},
			[]string{
				`rules[0].nonResourceURLs: Invalid value: ["/api","/apis/*"]: namespaced rules cannot apply to non-resource URLs`,
				`rules[0].nonResourceURLs: Invalid value: ["/api","/apis/*"]: rules cannot apply to both regular resources and non-resource URLs`,
			},
			[]string{`rules[0].nonResourceURLs: Invalid value: ["/api","/apis/*"]: rules cannot apply to both regular resources and non-resource URLs`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectMessages(t, ValidateRole(&rbacv1.Role{Rules: tc.rules}), tc.role...)
			expectMessages(t, ValidateClusterRole(&rbacv1.ClusterRole{Rules: tc.rules}), tc.cluster...)
		})
	}
}

func TestValidateAggregationRule(t *testing.T) {
	selector := func(labels map[string]string, exprs ...*metav1.LabelSelectorRequirement) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: labels, MatchExpressions: exprs}
	}
	badValue := selector(nil, &metav1.LabelSelectorRequirement{Key: "tier", Operator: "In", Values: []string{"not ok"}})
	for _, tc := range []struct {
		name      string
		selectors []*metav1.LabelSelector
		want      []string
	}{
		{"labels", []*metav1.LabelSelector{selector(map[string]string{"rbac.example.com/aggregate-to-view": "true"})}, nil},
		{"no selectors", nil,
			[]string{"aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"}},
		{"bad operator", []*metav1.LabelSelector{selector(nil, &metav1.LabelSelectorRequirement{Key: "tier", Operator: "Near"})},
			[]string{
				`aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`,
				"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector.",
			}},
		{"bad label value", []*metav1.LabelSelector{badValue},
			[]string{
				`aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]: Invalid value: "not ok": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
				"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector.",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: tc.selectors}}
			expectMessages(t, ValidateClusterRole(r), tc.want...)
		})
	}
	// A stored role with a label value no longer accepted keeps it
	// through updates; only the selector that cannot be built is reported.
	old := &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []*metav1.LabelSelector{badValue}}}
	expectMessages(t, ValidateClusterRoleUpdate(old, old), "aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector.")
}

func TestValidateBindings(t *testing.T) {
	type binding struct {
		ref      *rbacv1.RoleRef
		subjects []*rbacv1.Subject
	}
	role := &rbacv1.RoleRef{Kind: "Role", Name: "reader"}
	clusterRole := &rbacv1.RoleRef{Kind: "ClusterRole", Name: "system:view"}
	user := &rbacv1.Subject{Kind: "User", Name: "alice"}
	sa := &rbacv1.Subject{Kind: "ServiceAccount", Name: "ci"}
	for _, tc := range []struct {
		name string
		binding
		// namespaced and cluster are the messages for a RoleBinding and a
		// ClusterRoleBinding, after defaulting.
		namespaced, cluster []string
	}{
		{"cluster role to a user and a group", binding{clusterRole, []*rbacv1.Subject{user, {Kind: "Group", Name: "system:authenticated"}}}, nil, nil},
		{"role", binding{role, nil}, nil,
			[]string{`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`}},
		{"no role", binding{nil, nil},
			[]string{
				`roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"`,
				"roleRef.name: Required value",
			},
			[]string{
				`roleRef.kind: Unsupported value: "": supported values: "ClusterRole"`,
				"roleRef.name: Required value",
			}},
		{"other group and bad name", binding{&rbacv1.RoleRef{ApiGroup: "example.com", Kind: "ClusterRole", Name: "a/b"}, nil},
			[]string{
				`roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
				`roleRef.name: Invalid value: "a/b": may not contain '/'`,
			},
			[]string{
				`roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
				`roleRef.name: Invalid value: "a/b": may not contain '/'`,
			}},
		{"service account without namespace", binding{clusterRole, []*rbacv1.Subject{sa}}, nil,
			[]string{"subjects[0].namespace: Required value"}},
		{"service account name and group", binding{clusterRole, []*rbacv1.Subject{{Kind: "ServiceAccount", ApiGroup: "v1", Name: "CI", Namespace: "ci"}}},
			[]string{
				`subjects[0].name: Invalid value: "CI": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`subjects[0].apiGroup: Unsupported value: "v1": supported values: ""`,
			},
			[]string{
				`subjects[0].name: Invalid value: "CI": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`subjects[0].apiGroup: Unsupported value: "v1": supported values: ""`,
			}},
		{"user of another group, nameless group, robot", binding{clusterRole, []*rbacv1.Subject{
			{Kind: "User", ApiGroup: "example.com", Name: "alice"}, {Kind: "Group"}, {Kind: "Robot", Name: "r2"}}},
			[]string{
				`subjects[0].apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
				"subjects[1].name: Required value",
				`subjects[2].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`,
			},
			[]string{
				`subjects[0].apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
				"subjects[1].name: Required value",
				`subjects[2].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := &rbacv1.RoleBinding{RoleRef: clone(tc.ref), Subjects: clones(tc.subjects)}
			defaults.RoleBinding(rb)
			expectMessages(t, ValidateRoleBinding(rb), tc.namespaced...)
			crb := &rbacv1.ClusterRoleBinding{RoleRef: clone(tc.ref), Subjects: clones(tc.subjects)}
			defaults.ClusterRoleBinding(crb)
			expectMessages(t, ValidateClusterRoleBinding(crb), tc.cluster...)
		})
	}
}

func TestValidateBindingUpdates(t *testing.T) {
	old := &rbacv1.RoleBinding{RoleRef: &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "Role", Name: "reader"}}
	same := &rbacv1.RoleBinding{RoleRef: clone(old.RoleRef), Subjects: []*rbacv1.Subject{{Kind: "User", Name: "bob"}}}
	expectMessages(t, ValidateRoleBindingUpdate(same, old))
	other := &rbacv1.RoleBinding{RoleRef: &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: "edit"}}
	expectMessages(t, ValidateRoleBindingUpdate(other, old),
		`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: cannot change roleRef`)
	oldCluster := &rbacv1.ClusterRoleBinding{RoleRef: &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: "view"}}
	expectMessages(t, ValidateClusterRoleBindingUpdate(&rbacv1.ClusterRoleBinding{RoleRef: other.RoleRef}, oldCluster),
		`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: cannot change roleRef`)
}

func clone(ref *rbacv1.RoleRef) *rbacv1.RoleRef {
	if ref == nil {
		return nil
	}
	return &rbacv1.RoleRef{ApiGroup: ref.ApiGroup, Kind: ref.Kind, Name: ref.Name}
}

func clones(list []*rbacv1.Subject) []*rbacv1.Subject {
	out := make([]*rbacv1.Subject, len(list))
	for i, s := range list {
		out[i] = &rbacv1.Subject{Kind: s.Kind, ApiGroup: s.ApiGroup, Name: s.Name, Namespace: s.Namespace}
	}
	return out
}
