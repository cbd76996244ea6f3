package api

import (
	"context"
	"fmt"

	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/escalation"
	"skiff.dev/services/apiserver/internal/authorizer/node"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/authorizer/rbacindex"
	"skiff.dev/services/apiserver/internal/csradmission"
	"skiff.dev/services/apiserver/internal/registry"
)

// PrivilegedGroup is allowed everything, before any authorizer is asked,
// as Kubernetes allows system:masters.
const PrivilegedGroup = "system:masters"

// newAuthorizer builds the chain the modes name (Kubernetes'
// --authorization-mode values), after the system:masters authorizer, and
// the rule resolvers that list what each mode allows (the rules review):
// RBAC lists its bound rules, AlwaysAllow everything, AlwaysDeny nothing.
// As in Kubernetes, system:masters' own rules come from the bootstrap
// policy's cluster-admin binding, not from the privileged authorizer.
func newAuthorizer(modes []string, index *rbacindex.Index, nodes *node.Authorizer) (authorizer.Authorizer, authorizer.RuleResolver, error) {
	chain := authorizer.Union{authorizer.Privileged{PrivilegedGroup}}
	var rules authorizer.RuleResolvers
	for _, m := range modes {
		switch m {
		case "Node":
			chain = append(chain, nodes)
			rules = append(rules, nodes)
		case "RBAC":
			r := rbac.New(index)
			chain = append(chain, r)
			rules = append(rules, authorizer.PolicyRules(r))
		case "AlwaysAllow":
			chain = append(chain, authorizer.AlwaysAllow)
			rules = append(rules, allowsEverything)
		case "AlwaysDeny":
			chain = append(chain, authorizer.Func(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
				return authorizer.DecisionNoOpinion, "Everything is forbidden.", nil
			}))
		default:
			return nil, nil, fmt.Errorf("unknown authorization mode %q", m)
		}
	}
	return chain, rules, nil
}

// allowsEverything lists AlwaysAllow's rules: every verb on everything.
var allowsEverything = authorizer.RulesFunc(func(context.Context, authorizer.UserInfo, string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
	return []authorizer.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		[]authorizer.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}, false, nil
})

// guardRBAC installs the escalation checks on the four RBAC kinds' stores.
// They read roles and bindings from storage, not the authorizer's index,
// so what was written a moment ago counts.
func guardRBAC(stores map[*registry.Resource]*registry.Store, az authorizer.Authorizer) error {
	var src escalation.Storage
	byPlural := map[string]*registry.Backend{
		"roles": &src.RoleStore, "clusterroles": &src.ClusterRoleStore, "rolebindings": &src.RoleBindingStore,
		"clusterrolebindings": &src.ClusterRoleBindingStore,
	}
	for res, st := range stores {
		if b, ok := byPlural[res.Plural]; ok && res.Group == escalation.Group {
			*b = st
		}
	}
	if src.RoleStore == nil || src.ClusterRoleStore == nil || src.RoleBindingStore == nil || src.ClusterRoleBindingStore == nil {
		return fmt.Errorf("the kinds table lacks RBAC kinds for the escalation checks")
	}
	c := &escalation.Checker{Authorizer: az, Rules: rbac.New(src), Roles: src}
	checks := map[string]registry.WriteCheck{
		"roles": c.Role, "clusterroles": c.ClusterRole, "rolebindings": c.RoleBinding, "clusterrolebindings": c.ClusterRoleBinding,
	}
	for res, st := range stores {
		if check, ok := checks[res.Plural]; ok && res.Group == escalation.Group {
			st.AddWriteCheck(check)
		}
	}
	return nil
}

// guardCSRs installs Kubernetes' certificates admission checks on the
// certificatesigningrequests store: approve and sign on the signer, and no
// system:masters through kube-apiserver-client.
func guardCSRs(stores map[*registry.Resource]*registry.Store, az authorizer.Authorizer) error {
	for res, st := range stores {
		if res.Group == csradmission.Group && res.Plural == "certificatesigningrequests" {
			st.AddWriteCheck((&csradmission.Checker{Authorizer: az}).Check)
			return nil
		}
	}
	return fmt.Errorf("the kinds table lacks certificatesigningrequests for the certificates admission checks")
}

// Authorizer decides the requests of both faces.
func (a *API) Authorizer() authorizer.Authorizer { return a.authz }

// startAuthorizers fills the roles-and-bindings index the RBAC authorizer
// reads and the Node authorizer's indexes: pods by node, volumes' claims
// and node secrets, attachments' nodes.
func (a *API) startAuthorizers(ctx context.Context) error {
	const g = "rbac.authorization.k8s.io"
	if err := a.rbac.Start(ctx, rbacindex.Backends{
		Roles: a.Backend(g, "roles"), ClusterRoles: a.Backend(g, "clusterroles"),
		RoleBindings: a.Backend(g, "rolebindings"), ClusterRoleBindings: a.Backend(g, "clusterrolebindings"),
	}); err != nil {
		return fmt.Errorf("read roles and bindings: %w", err)
	}
	if err := a.nodes.Start(ctx, node.Backends{Pods: a.Backend("", "pods"), PersistentVolumes: a.Backend("", "persistentvolumes"),
		VolumeAttachments: a.Backend("storage.k8s.io", "volumeattachments")}); err != nil {
		return fmt.Errorf("read pods, volumes and attachments for the Node authorizer: %w", err)
	}
	return nil
}
