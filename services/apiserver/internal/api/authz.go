package api

import (
	"context"
	"fmt"

	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/escalation"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/authorizer/rbacindex"
	"skiff.dev/services/apiserver/internal/registry"
)

// PrivilegedGroup is allowed everything, before any authorizer is asked,
// as Kubernetes allows system:masters.
const PrivilegedGroup = "system:masters"

// newAuthorizer builds the chain the modes name (Kubernetes'
// --authorization-mode values), after the system:masters authorizer.
func newAuthorizer(modes []string, index *rbacindex.Index) (authorizer.Authorizer, error) {
	chain := authorizer.Union{authorizer.Privileged{PrivilegedGroup}}
	for _, m := range modes {
		switch m {
		case "RBAC":
			chain = append(chain, rbac.New(index))
		case "AlwaysAllow":
			chain = append(chain, authorizer.AlwaysAllow)
		case "AlwaysDeny":
			chain = append(chain, authorizer.Func(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
				return authorizer.DecisionNoOpinion, "Everything is forbidden.", nil
			}))
		default:
			return nil, fmt.Errorf("unknown authorization mode %q", m)
		}
	}
	return chain, nil
}

// guardRBAC installs the escalation checks on the four RBAC kinds' stores.
func guardRBAC(stores map[*registry.Resource]*registry.Store, index *rbacindex.Index, az authorizer.Authorizer) error {
	c := &escalation.Checker{Authorizer: az, Rules: rbac.New(index), Roles: index}
	checks := map[string]registry.WriteCheck{
		"roles": c.Role, "clusterroles": c.ClusterRole, "rolebindings": c.RoleBinding, "clusterrolebindings": c.ClusterRoleBinding,
	}
	for res, st := range stores {
		if check, ok := checks[res.Plural]; ok && res.Group == escalation.Group {
			st.AddWriteCheck(check)
			delete(checks, res.Plural)
		}
	}
	if len(checks) > 0 {
		return fmt.Errorf("the kinds table lacks RBAC kinds for the escalation checks")
	}
	return nil
}

// Authorizer decides the requests of both faces.
func (a *API) Authorizer() authorizer.Authorizer { return a.authz }

// startRBAC fills the roles-and-bindings index the RBAC authorizer reads.
func (a *API) startRBAC(ctx context.Context) error {
	const g = "rbac.authorization.k8s.io"
	return a.rbac.Start(ctx, rbacindex.Backends{
		Roles: a.Backend(g, "roles"), ClusterRoles: a.Backend(g, "clusterroles"),
		RoleBindings: a.Backend(g, "rolebindings"), ClusterRoleBindings: a.Backend(g, "clusterrolebindings"),
	})
}
