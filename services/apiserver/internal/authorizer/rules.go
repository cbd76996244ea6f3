package authorizer

import (
	"context"
	"slices"
	"strings"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// UserInfo is the user whose rules a RuleResolver lists.
type UserInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// ResourceRule allows Verbs on Resources of APIGroups, only on the objects
// named in ResourceNames when there are any. "*" means all.
type ResourceRule struct {
	Verbs         []string
	APIGroups     []string
	Resources     []string
	ResourceNames []string
}

// NonResourceRule allows Verbs on paths; a URL ending in "*" is a prefix.
type NonResourceRule struct {
	Verbs           []string
	NonResourceURLs []string
}

// RuleResolver lists what a user may do in a namespace (at the cluster
// scope only when namespace is empty), as a SelfSubjectRulesReview reports
// it: Kubernetes' authorizer.RuleResolver. The rules are additive: what is
// listed is allowed. incomplete says the resolver cannot list everything it
// would allow (an authorizer that decides by other means); err says some
// rules could not be resolved, and the rules returned still stand.
// Returned slices belong to the caller.
type RuleResolver interface {
	RulesFor(ctx context.Context, user UserInfo, namespace string) (resourceRules []ResourceRule, nonResourceRules []NonResourceRule, incomplete bool, err error)
}

// RulesFunc adapts a function to RuleResolver.
type RulesFunc func(ctx context.Context, user UserInfo, namespace string) ([]ResourceRule, []NonResourceRule, bool, error)

// RulesFor calls f.
func (f RulesFunc) RulesFor(ctx context.Context, user UserInfo, namespace string) ([]ResourceRule, []NonResourceRule, bool, error) {
	return f(ctx, user, namespace)
}

// RuleResolvers lists the rules of all its resolvers, in order, as
// Kubernetes' union of rule resolvers does: incomplete when any is, and
// the errors of all joined into one.
type RuleResolvers []RuleResolver

// RulesFor asks every resolver.
func (u RuleResolvers) RulesFor(ctx context.Context, user UserInfo, namespace string) ([]ResourceRule, []NonResourceRule, bool, error) {
	var (
		resourceRules    []ResourceRule
		nonResourceRules []NonResourceRule
		incomplete       bool
		errs             Errors
	)
	for _, r := range u {
		rr, nr, inc, err := r.RulesFor(ctx, user, namespace)
		resourceRules = append(resourceRules, rr...)
		nonResourceRules = append(nonResourceRules, nr...)
		incomplete = incomplete || inc
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return resourceRules, nonResourceRules, incomplete, nil
	}
	return resourceRules, nonResourceRules, incomplete, errs
}

// RulesFor gives a member of one of the groups every verb on every
// resource and every path, the rules of a request Privileged always
// allows, and nothing to others.
//
// Kubernetes' privileged-group authorizer lists no rules of its own:
// system:masters see "*" there because the bootstrap RBAC policy binds
// them to the cluster-admin ClusterRole, whose rules are these; the
// server's chain lists them so too. This resolver stands in where no
// authorizer is configured (kinds.AccessReviews without one).
func (p Privileged) RulesFor(_ context.Context, user UserInfo, _ string) ([]ResourceRule, []NonResourceRule, bool, error) {
	for _, g := range user.Groups {
		if slices.Contains(p, g) {
			return []ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
				[]NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}, false, nil
		}
	}
	return nil, nil, false, nil
}

// PolicyRuleLister lists the RBAC rules bound to a user in a namespace and
// an error for each binding whose role it cannot resolve: what
// (*rbac.Authorizer).Rules does.
type PolicyRuleLister interface {
	Rules(user string, groups []string, namespace string) ([]*rbacv1.PolicyRule, []error)
}

// PolicyRules resolves rules by RBAC, as Kubernetes' RBAC authorizer does:
// each policy rule with resources becomes a resource rule and each with
// non-resource URLs a non-resource rule; the bindings that cannot be
// resolved are the error, and the list is still complete (RBAC lists every
// rule it allows by).
func PolicyRules(l PolicyRuleLister) RuleResolver {
	return RulesFunc(func(_ context.Context, user UserInfo, namespace string) ([]ResourceRule, []NonResourceRule, bool, error) {
		rules, errs := l.Rules(user.Name, user.Groups, namespace)
		var resourceRules []ResourceRule
		var nonResourceRules []NonResourceRule
		for _, r := range rules {
			if len(r.GetResources()) > 0 {
				resourceRules = append(resourceRules, ResourceRule{
					Verbs: slices.Clone(r.GetVerbs()), APIGroups: slices.Clone(r.GetApiGroups()),
					Resources: slices.Clone(r.GetResources()), ResourceNames: slices.Clone(r.GetResourceNames()),
				})
			}
			if len(r.GetNonResourceUrls()) > 0 {
				nonResourceRules = append(nonResourceRules, NonResourceRule{
					Verbs: slices.Clone(r.GetVerbs()), NonResourceURLs: slices.Clone(r.GetNonResourceUrls()),
				})
			}
		}
		if len(errs) == 0 {
			return resourceRules, nonResourceRules, false, nil
		}
		return resourceRules, nonResourceRules, false, Errors(errs)
	})
}

// Errors is several errors reported as one, as Kubernetes' aggregate error
// reports them: nested Errors are flattened, a message that repeats is
// shown once, and more than one message is bracketed and comma-separated.
type Errors []error

func (e Errors) Error() string {
	var msgs []string
	seen := map[string]bool{}
	var visit func(Errors)
	visit = func(errs Errors) {
		for _, err := range errs {
			if err == nil {
				continue
			}
			if inner, ok := err.(Errors); ok {
				visit(inner)
				continue
			}
			if msg := err.Error(); !seen[msg] {
				seen[msg] = true
				msgs = append(msgs, msg)
			}
		}
	}
	visit(e)
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// Unwrap gives the errors to errors.Is and errors.As.
func (e Errors) Unwrap() []error { return e }
