// Package escalation keeps users from granting through RBAC what they do
// not hold, as Kubernetes' RBAC storage does: a Role or ClusterRole may be
// written only by someone allowed the "escalate" verb on it or who holds
// every permission it grants; a RoleBinding or ClusterRoleBinding only by
// someone allowed "bind" on the role it refers to or who holds every
// permission of that role (in the binding's namespace, or cluster-wide).
// Members of system:masters, and in-process writes that carry no user, are
// not checked. A ClusterRole with an aggregationRule may be written only
// by someone who holds every permission, since it may gather any rule.
//
// An update that changes only what the garbage collector writes (owner
// references and finalizers) is not checked either, so the collector can
// finish deleting a role it could not create.
package escalation

import (
	"context"
	"fmt"
	"slices"
	"strings"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/registry"
)

// Group is the RBAC API group.
const Group = "rbac.authorization.k8s.io"

// privilegedGroup is exempt from the checks, as in Kubernetes.
const privilegedGroup = "system:masters"

// RuleResolver lists the RBAC rules a user holds in a namespace ("" for
// the cluster-wide ones only).
type RuleResolver interface {
	Rules(user string, groups []string, namespace string) ([]*rbacv1.PolicyRule, []error)
}

// Checker makes the checks. Authorizer answers the escalate and bind
// verbs; Rules what the user holds; Roles the rules a binding refers to.
type Checker struct {
	Authorizer authorizer.Authorizer
	Rules      RuleResolver
	Roles      rbac.Source
}

// everything is what only a cluster-admin holds.
var everything = []*rbacv1.PolicyRule{
	{Verbs: []string{"*"}, ApiGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceUrls: []string{"*"}},
}

// Role checks a write of a Role.
func (c *Checker) Role(ctx context.Context, w registry.Write) error {
	role := w.Object.(*rbacv1.Role)
	if onlyGCFields(w) {
		return nil
	}
	m := role.GetMetadata()
	return c.checkRules(ctx, "roles", m.GetNamespace(), m.GetName(), role.GetRules())
}

// ClusterRole checks a write of a ClusterRole. As in Kubernetes, a user
// allowed to escalate on it may write anything; anyone else may write an
// aggregationRule only when holding every permission, and rules only
// when holding them.
func (c *Checker) ClusterRole(ctx context.Context, w registry.Write) error {
	role := w.Object.(*rbacv1.ClusterRole)
	if onlyGCFields(w) {
		return nil
	}
	u, ok := auth.UserFrom(ctx)
	if !ok || isPrivileged(u) {
		return nil
	}
	name := role.GetMetadata().GetName()
	if c.allowed(ctx, u, authorizer.ResourceRequest("escalate", Group, "v1", "clusterroles", "", "", name)) {
		return nil
	}
	if role.GetAggregationRule() != nil {
		if held, _ := c.holds(u, "", everything); !held {
			return forbidden("clusterroles", name, "must have cluster-admin privileges to use the aggregationRule")
		}
		return nil
	}
	if err := c.confirm(u, "", role.GetRules()); err != nil {
		return forbidden("clusterroles", name, err.Error())
	}
	return nil
}

// RoleBinding checks a write of a RoleBinding.
func (c *Checker) RoleBinding(ctx context.Context, w registry.Write) error {
	b := w.Object.(*rbacv1.RoleBinding)
	if onlyGCFields(w) {
		return nil
	}
	m := b.GetMetadata()
	return c.checkBinding(ctx, "rolebindings", m.GetNamespace(), m.GetName(), b.GetRoleRef())
}

// ClusterRoleBinding checks a write of a ClusterRoleBinding.
func (c *Checker) ClusterRoleBinding(ctx context.Context, w registry.Write) error {
	b := w.Object.(*rbacv1.ClusterRoleBinding)
	if onlyGCFields(w) {
		return nil
	}
	return c.checkBinding(ctx, "clusterrolebindings", "", b.GetMetadata().GetName(), b.GetRoleRef())
}

// checkRules lets the user write a role granting rules when allowed to
// escalate on it or when holding them all.
func (c *Checker) checkRules(ctx context.Context, resource, namespace, name string, rules []*rbacv1.PolicyRule) error {
	u, ok := auth.UserFrom(ctx)
	if !ok || isPrivileged(u) {
		return nil
	}
	if c.allowed(ctx, u, authorizer.ResourceRequest("escalate", Group, "v1", resource, "", namespace, name)) {
		return nil
	}
	if err := c.confirm(u, namespace, rules); err != nil {
		return forbidden(resource, name, err.Error())
	}
	return nil
}

// checkBinding lets the user bind the role ref names when allowed to bind
// it or when holding all its rules.
func (c *Checker) checkBinding(ctx context.Context, resource, namespace, name string, ref *rbacv1.RoleRef) error {
	u, ok := auth.UserFrom(ctx)
	if !ok || isPrivileged(u) {
		return nil
	}
	refResource := "clusterroles"
	if ref.GetKind() == "Role" {
		refResource = "roles"
	}
	if c.allowed(ctx, u, authorizer.ResourceRequest("bind", ref.GetApiGroup(), "", refResource, "", namespace, ref.GetName())) {
		return nil
	}
	rules, err := c.refRules(ref, namespace)
	if err != nil {
		return forbidden(resource, name, err.Error())
	}
	if err := c.confirm(u, namespace, rules); err != nil {
		return forbidden(resource, name, err.Error())
	}
	return nil
}

// allowed asks the authorizer about a special verb.
func (c *Checker) allowed(ctx context.Context, u auth.User, attrs authorizer.Attributes) bool {
	attrs.User, attrs.Groups, attrs.UID, attrs.Extra = u.Name, u.Groups, u.UID, u.Extra
	d, _, _ := c.Authorizer.Authorize(ctx, attrs)
	return d == authorizer.DecisionAllow
}

// refRules are the rules of the role a binding refers to.
func (c *Checker) refRules(ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error) {
	switch ref.GetKind() {
	case "Role":
		if r, ok := c.Roles.Role(namespace, ref.GetName()); ok {
			return r.GetRules(), nil
		}
		return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", ref.GetName())
	case "ClusterRole":
		if r, ok := c.Roles.ClusterRole(ref.GetName()); ok {
			return r.GetRules(), nil
		}
		return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", ref.GetName())
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.GetKind())
}

// holds reports whether the user's rules in namespace cover rules.
func (c *Checker) holds(u auth.User, namespace string, rules []*rbacv1.PolicyRule) (bool, []*rbacv1.PolicyRule) {
	owned, _ := c.Rules.Rules(u.Name, u.Groups, namespace)
	return rbac.Covers(owned, rules)
}

// confirm is nil when the user holds every rule, and otherwise says, as
// Kubernetes does, which permissions the user lacks.
func (c *Checker) confirm(u auth.User, namespace string, rules []*rbacv1.PolicyRule) error {
	owned, errs := c.Rules.Rules(u.Name, u.Groups, namespace)
	ok, missing := rbac.Covers(owned, rules)
	if ok {
		return nil
	}
	var lines []string
	for _, r := range compact(missing) {
		lines = append(lines, compactString(r))
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.Name, u.Groups, strings.Join(lines, "\n"))
	if len(errs) > 0 {
		msg += fmt.Sprintf("; resolution errors: %v", errs)
	}
	return fmt.Errorf("%s", msg)
}

func isPrivileged(u auth.User) bool { return slices.Contains(u.Groups, privilegedGroup) }

func forbidden(resource, name, why string) error {
	return apierrors.NewForbidden(apierrors.Resource{Group: Group, Resource: resource}, name, why)
}
