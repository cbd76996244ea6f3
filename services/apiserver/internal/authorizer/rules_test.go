package authorizer_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
)

var _ authorizer.PolicyRuleLister = (*rbac.Authorizer)(nil)

var (
	everything         = []authorizer.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	everyPath          = []authorizer.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
	masters            = authorizer.UserInfo{Name: "admin", Groups: []string{"system:authenticated", "system:masters"}}
	alice              = authorizer.UserInfo{Name: "alice", Groups: []string{"system:authenticated"}}
	privilegedResolver = authorizer.Privileged{"system:masters"}
)

func TestPrivilegedRules(t *testing.T) {
	rr, nr, incomplete, err := privilegedResolver.RulesFor(context.Background(), masters, "team")
	if !reflect.DeepEqual(rr, everything) || !reflect.DeepEqual(nr, everyPath) || incomplete || err != nil {
		t.Errorf("a member: got %v %v %v %v, want every resource and path", rr, nr, incomplete, err)
	}
	rr, nr, incomplete, err = privilegedResolver.RulesFor(context.Background(), alice, "team")
	if rr != nil || nr != nil || incomplete || err != nil {
		t.Errorf("another user: got %v %v %v %v, want nothing", rr, nr, incomplete, err)
	}
}

// roles is an RBAC source: alice holds a ClusterRole with a resource rule,
// a rule of both kinds and a non-resource rule, and a RoleBinding in team
// to a Role that does not exist.
type roles struct{}

func (roles) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	return []*rbacv1.ClusterRoleBinding{{
		Metadata: &metav1.ObjectMeta{Name: "alice-reader"},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reader"},
		Subjects: []*rbacv1.Subject{{Kind: "User", ApiGroup: "rbac.authorization.k8s.io", Name: "alice"}},
	}}
}

func (roles) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	if namespace != "team" {
		return nil
	}
	return []*rbacv1.RoleBinding{{
		Metadata: &metav1.ObjectMeta{Namespace: "team", Name: "alice-editor"},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "editor"},
		Subjects: []*rbacv1.Subject{{Kind: "Group", ApiGroup: "rbac.authorization.k8s.io", Name: "system:authenticated"}},
	}}
}

func (roles) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	if name != "reader" {
		return nil, false
	}
	return &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "reader"}, Rules: []*rbacv1.PolicyRule{
		{Verbs: []string{"get", "list"}, ApiGroups: []string{""}, Resources: []string{"pods", "pods/log"}, ResourceNames: []string{"web"}},
		{Verbs: []string{"get"}, ApiGroups: []string{"apps"}, Resources: []string{"deployments"}, NonResourceUrls: []string{"/version"}},
		{Verbs: []string{"get"}, NonResourceUrls: []string{"/healthz", "/metrics"}},
	}}, true
}

func (roles) Role(string, string) (*rbacv1.Role, bool) { return nil, false }

func TestPolicyRules(t *testing.T) {
	resolver := authorizer.PolicyRules(rbac.New(roles{}))
	wantResource := []authorizer.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, ResourceNames: []string{"web"}},
		{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}},
	}
	wantPaths := []authorizer.NonResourceRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}},
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/metrics"}},
	}

	rr, nr, incomplete, err := resolver.RulesFor(context.Background(), alice, "")
	if !reflect.DeepEqual(rr, wantResource) || !reflect.DeepEqual(nr, wantPaths) || incomplete || err != nil {
		t.Errorf("cluster scope: got\n %v\n %v\n %v %v", rr, nr, incomplete, err)
	}

	// In team the RoleBinding's Role is missing: its error is reported
	// and the other rules stand; RBAC still calls its list complete.
	rr, _, incomplete, err = resolver.RulesFor(context.Background(), alice, "team")
	if !reflect.DeepEqual(rr, wantResource) || incomplete {
		t.Errorf("team: got %v, incomplete %v", rr, incomplete)
	}
	if err == nil || err.Error() != `role.rbac.authorization.k8s.io "editor" not found` {
		t.Errorf("team: got error %v, want the missing role", err)
	}

	// The rules are copies: changing them leaves the role alone.
	rr[0].Verbs[0] = "delete"
	if again, _, _, _ := resolver.RulesFor(context.Background(), alice, ""); again[0].Verbs[0] != "get" {
		t.Error("a rule returned shares its verbs with the role")
	}
}

func TestRuleResolversJoin(t *testing.T) {
	incompleteWithError := authorizer.RulesFunc(func(context.Context, authorizer.UserInfo, string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
		return nil, nil, true, errors.New("webhook: rules are not listed")
	})
	failing := authorizer.RulesFunc(func(context.Context, authorizer.UserInfo, string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
		return []authorizer.ResourceRule{{Verbs: []string{"get"}, Resources: []string{"pods"}}}, nil, false,
			authorizer.Errors{errors.New("a"), errors.New("webhook: rules are not listed"), errors.New("b")}
	})

	rr, nr, incomplete, err := authorizer.RuleResolvers{privilegedResolver, incompleteWithError, failing}.RulesFor(context.Background(), masters, "team")
	wantResource := append(append([]authorizer.ResourceRule{}, everything...), authorizer.ResourceRule{Verbs: []string{"get"}, Resources: []string{"pods"}})
	if !reflect.DeepEqual(rr, wantResource) || !reflect.DeepEqual(nr, everyPath) {
		t.Errorf("got %v %v, want the rules of all in order", rr, nr)
	}
	if !incomplete {
		t.Error("not incomplete, though one resolver is")
	}
	// Nested errors are flattened and each message given once.
	if err == nil || err.Error() != "[webhook: rules are not listed, a, b]" {
		t.Errorf("got error %v", err)
	}

	rr, nr, incomplete, err = authorizer.RuleResolvers{privilegedResolver}.RulesFor(context.Background(), alice, "")
	if rr != nil || nr != nil || incomplete || err != nil {
		t.Errorf("no rules: got %v %v %v %v", rr, nr, incomplete, err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		errs authorizer.Errors
		want string
	}{
		{nil, ""},
		{authorizer.Errors{errors.New("x")}, "x"},
		{authorizer.Errors{errors.New("x"), errors.New("x")}, "x"},
		{authorizer.Errors{errors.New("x"), nil, authorizer.Errors{errors.New("y"), errors.New("x")}}, "[x, y]"},
	} {
		if got := c.errs.Error(); got != c.want {
			t.Errorf("%v: got %q, want %q", []error(c.errs), got, c.want)
		}
	}
	target := errors.New("target")
	if !errors.Is(authorizer.Errors{errors.New("x"), target}, target) {
		t.Error("errors.Is does not see into Errors")
	}
}
