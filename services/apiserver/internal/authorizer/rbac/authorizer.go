// Package rbac decides requests by the rules of rbac.authorization.k8s.io/v1
// roles bound to the requesting user, with Kubernetes' semantics:
//
//   - Rules are only additive. A request is allowed when one rule of one role
//     bound to the user allows it; otherwise the authorizer has no opinion
//     (another authorizer in the chain may still allow it), never a deny.
//   - ClusterRoleBindings apply in every namespace and at the cluster scope;
//     RoleBindings apply only to requests in their own namespace, including
//     those that refer to a ClusterRole.
//   - A binding whose role is missing contributes nothing; the miss is
//     reported in the reason of a request that no other rule allows.
//   - A rule with resourceNames allows only requests that name one of them, so
//     it never allows list, watch, create or deletecollection unless the
//     caller sets Name (Kubernetes takes it from a metadata.name field
//     selector on list and watch).
//
// Nothing here treats the group system:masters specially: in Kubernetes a
// separate authorizer placed before RBAC allows that group everything, and
// the server must chain one the same way when it wires this package in.
// A ClusterRole's aggregationRule is not read either; the aggregation
// controller writes the aggregated rules into the role, which is what the
// authorizer reads.
package rbac

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// Source is what the authorizer reads: the current roles and bindings,
// backed by the watch caches in the server and by a fixed list in tests.
type Source interface {
	ClusterRoleBindings() []*rbacv1.ClusterRoleBinding
	RoleBindings(namespace string) []*rbacv1.RoleBinding
	ClusterRole(name string) (*rbacv1.ClusterRole, bool)
	Role(namespace, name string) (*rbacv1.Role, bool)
}

var _ authorizer.Authorizer = (*Authorizer)(nil)

// Authorizer authorizes requests by RBAC. It keeps no state of its own, so
// it is safe for concurrent use when its Source is.
type Authorizer struct {
	src Source
}

// New returns an authorizer reading roles and bindings from src.
func New(src Source) *Authorizer {
	return &Authorizer{src: src}
}

// Authorize allows the request when a rule bound to its user allows it, with
// the reason naming the binding, as in `RBAC: allowed by ClusterRoleBinding
// "x" of ClusterRole "y" to User "z"`. Otherwise it has no opinion, and the
// reason lists the bindings that could not be resolved, if any.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	var errs []error
	var reason string
	a.visit(attrs.User, attrs.Groups, attrs.Namespace, func(g grant, rule *rbacv1.PolicyRule, err error) bool {
		if err != nil {
			errs = append(errs, err)
			return true
		}
		if !ruleAllows(attrs, rule) {
			return true
		}
		reason = "RBAC: allowed by " + g.String()
		return false
	})
	if reason != "" {
		return authorizer.DecisionAllow, reason, nil
	}
	if len(errs) > 0 {
		return authorizer.DecisionNoOpinion, "RBAC: " + joinErrors(errs), nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// Rules lists the rules that apply to a user in a namespace (only those of
// ClusterRoleBindings when namespace is empty), as SelfSubjectRulesReview
// reports them, and an error for each binding whose role cannot be found.
// The rules are the roles' own; callers must not change them.
func (a *Authorizer) Rules(user string, groups []string, namespace string) ([]*rbacv1.PolicyRule, []error) {
	var rules []*rbacv1.PolicyRule
	var errs []error
	a.visit(user, groups, namespace, func(_ grant, rule *rbacv1.PolicyRule, err error) bool {
		if err != nil {
			errs = append(errs, err)
		} else {
			rules = append(rules, rule)
		}
		return true
	})
	return rules, errs
}

// visit calls fn with each rule that applies to the user in namespace, and
// with an error for each applicable binding whose role cannot be resolved,
// ClusterRoleBindings first, until fn returns false.
func (a *Authorizer) visit(user string, groups []string, namespace string, fn func(grant, *rbacv1.PolicyRule, error) bool) {
	for _, b := range a.src.ClusterRoleBindings() {
		subject := appliesTo(user, groups, b.GetSubjects(), "")
		if subject == nil {
			continue
		}
		g := grant{clusterScoped: true, binding: b.GetMetadata().GetName(), roleRef: b.GetRoleRef(), subject: subject}
		if !a.visitRole(g, "", fn) {
			return
		}
	}
	if namespace == "" {
		return
	}
	for _, b := range a.src.RoleBindings(namespace) {
		subject := appliesTo(user, groups, b.GetSubjects(), namespace)
		if subject == nil {
			continue
		}
		g := grant{binding: b.GetMetadata().GetName(), namespace: namespace, roleRef: b.GetRoleRef(), subject: subject}
		if !a.visitRole(g, namespace, fn) {
			return
		}
	}
}

// visitRole resolves the role g refers to and passes its rules to fn,
// reporting whether to go on.
func (a *Authorizer) visitRole(g grant, namespace string, fn func(grant, *rbacv1.PolicyRule, error) bool) bool {
	rules, err := a.roleRules(g.roleRef, namespace)
	if err != nil {
		return fn(g, nil, err)
	}
	for _, rule := range rules {
		if rule != nil && !fn(g, rule, nil) {
			return false
		}
	}
	return true
}

// roleRules returns the rules of the role ref names, a Role looked up in the
// binding's namespace. The errors read as Kubernetes' listers' NotFound.
func (a *Authorizer) roleRules(ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error) {
	switch ref.GetKind() {
	case "Role":
		role, ok := a.src.Role(namespace, ref.GetName())
		if !ok {
			return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", ref.GetName())
		}
		return role.GetRules(), nil
	case "ClusterRole":
		role, ok := a.src.ClusterRole(ref.GetName())
		if !ok {
			return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", ref.GetName())
		}
		return role.GetRules(), nil
	default:
		return nil, fmt.Errorf("unsupported role reference kind: %q", ref.GetKind())
	}
}

// joinErrors renders errors as Kubernetes' aggregate error does: the
// distinct messages in order, bracketed and comma-separated when more than
// one.
func joinErrors(errs []error) string {
	seen := make(map[string]bool, len(errs))
	var msgs []string
	for _, err := range errs {
		if msg := err.Error(); !seen[msg] {
			seen[msg] = true
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}
