package escalation

import (
	"context"
	"strings"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// held gives every user the same rules, in every namespace.
type held []*rbacv1.PolicyRule

func (h held) Rules(string, []string, string) ([]*rbacv1.PolicyRule, []error) { return h, nil }

// roles is a Source with one ClusterRole.
type roles struct{ clusterRole *rbacv1.ClusterRole }

func (r roles) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding { return nil }
func (r roles) RoleBindings(string) []*rbacv1.RoleBinding         { return nil }
func (r roles) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	return r.clusterRole, r.clusterRole.GetMetadata().GetName() == name
}
func (r roles) Role(string, string) (*rbacv1.Role, bool) { return nil, false }

func rule(verbs, groups, resources []string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, ApiGroups: groups, Resources: resources}
}

func l(s ...string) []string { return s }

func TestChecks(t *testing.T) {
	podsRead := rule(l("get", "list"), l(""), l("pods"))
	secretsRead := rule(l("get"), l(""), l("secrets"))
	c := &Checker{
		Authorizer: authorizer.Func(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
			if a.User == "binder" && a.Verb == "bind" && a.Resource == "clusterroles" && a.Name == "secret-reader" {
				return authorizer.DecisionAllow, "", nil
			}
			if a.User == "escalator" && a.Verb == "escalate" && (a.Resource == "roles" || a.Resource == "clusterroles") {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "", nil
		}),
		Rules: held{podsRead},
		Roles: roles{&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "secret-reader"}, Rules: []*rbacv1.PolicyRule{secretsRead}}},
	}
	role := func(rules ...*rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{Metadata: &metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Rules: rules}
	}
	binding := func(kind, name string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{Metadata: &metav1.ObjectMeta{Name: "b", Namespace: "ns"},
			RoleRef: &rbacv1.RoleRef{ApiGroup: Group, Kind: kind, Name: name}}
	}
	withFinalizer := role(secretsRead)
	withFinalizer.Metadata.Finalizers = []string{"x"}
	aggregated := &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{}}
	as := func(name string, groups ...string) context.Context {
		return auth.WithUser(context.Background(), auth.User{Name: name, Groups: groups})
	}
	tests := []struct {
		name    string
		ctx     context.Context
		check   registry.WriteCheck
		w       registry.Write
		wantErr string
	}{
		{"role within what is held", as("u"), c.Role, registry.Write{Object: role(rule(l("get"), l(""), l("pods")))}, ""},
		{"role beyond what is held", as("u", "g"), c.Role, registry.Write{Object: role(podsRead, secretsRead, rule(l("watch"), l(""), l("pods")))},
			`roles.rbac.authorization.k8s.io "r" is forbidden: user "u" (groups=["g"]) is attempting to grant RBAC permissions not currently held:` + "\n" +
				`{APIGroups:[""], Resources:["pods"], Verbs:["watch"]}` + "\n" + `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`},
		{"escalate verb", as("escalator"), c.Role, registry.Write{Object: role(secretsRead)}, ""},
		{"system:masters", as("root", "system:masters"), c.Role, registry.Write{Object: role(secretsRead)}, ""},
		{"in-process write", context.Background(), c.Role, registry.Write{Object: role(secretsRead)}, ""},
		{"finalizer-only update", as("gc"), c.Role, registry.Write{Object: withFinalizer, Old: role(secretsRead)}, ""},
		{"rules update", as("u"), c.Role, registry.Write{Object: role(secretsRead), Old: role(podsRead)}, "attempting to grant"},
		{"aggregation rule", as("u"), c.ClusterRole, registry.Write{Object: aggregated},
			`clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule`},
		{"aggregation rule by an escalator", as("escalator"), c.ClusterRole, registry.Write{Object: aggregated}, ""},
		{"binding of a role held", as("u"), c.RoleBinding, registry.Write{Object: binding("ClusterRole", "secret-reader")}, "attempting to grant"},
		{"bind verb", as("binder"), c.RoleBinding, registry.Write{Object: binding("ClusterRole", "secret-reader")}, ""},
		{"missing role", as("u"), c.RoleBinding, registry.Write{Object: binding("ClusterRole", "gone")},
			`rolebindings.rbac.authorization.k8s.io "b" is forbidden: clusterrole.rbac.authorization.k8s.io "gone" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.ctx, tt.w)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErr != "" && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want Forbidden %q", err, tt.wantErr)
			}
		})
	}
}
