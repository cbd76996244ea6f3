package rbac

import (
	"skiff.dev/services/apiserver/internal/authorizer"
	"slices"
	"strings"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// all is the wildcard of verbs, apiGroups, resources and nonResourceURLs.
const all = "*"

// ruleAllows reports whether rule allows the request: every verb, group,
// resource and name it asks for must be listed by the rule or covered by a
// wildcard.
func ruleAllows(attrs authorizer.Attributes, rule *rbacv1.PolicyRule) bool {
	if !hasOrAll(rule.GetVerbs(), attrs.Verb) {
		return false
	}
	if !attrs.ResourceRequest {
		return urlMatches(rule.GetNonResourceUrls(), attrs.Path)
	}
	return hasOrAll(rule.GetApiGroups(), attrs.APIGroup) &&
		resourceMatches(rule.GetResources(), attrs.Resource, attrs.Subresource) &&
		nameMatches(rule.GetResourceNames(), attrs.Name)
}

func hasOrAll(set []string, s string) bool {
	return slices.Contains(set, all) || slices.Contains(set, s)
}

// resourceMatches: "*" matches every resource and subresource; "pods"
// matches only pods itself, "pods/log" only that subresource, and "*/log"
// the log subresource of every resource. As in Kubernetes "pods/*" is no
// wildcard: it matches a subresource literally named "*".
func resourceMatches(rules []string, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined = resource + "/" + subresource
	}
	for _, r := range rules {
		if r == all || r == combined {
			return true
		}
		if subresource != "" && r == "*/"+subresource {
			return true
		}
	}
	return false
}

// nameMatches: a rule without resourceNames matches every request; one with
// names matches only requests for one of them, never one without a name.
func nameMatches(names []string, name string) bool {
	return len(names) == 0 || slices.Contains(names, name)
}

// urlMatches: "*" matches every path, "/api/*" every path beginning with
// "/api/", and anything else only itself.
func urlMatches(rules []string, path string) bool {
	for _, r := range rules {
		if urlCovers(r, path) {
			return true
		}
	}
	return false
}

// urlCovers reports whether the nonResourceURL pattern covers path, a path
// or a pattern itself. Kubernetes strips every trailing "*" of a pattern
// before comparing prefixes.
func urlCovers(pattern, path string) bool {
	if pattern == path {
		return true
	}
	return strings.HasSuffix(pattern, all) && strings.HasPrefix(path, strings.TrimRight(pattern, all))
}

// RulesAllow reports whether one of the rules allows the request, as RBAC
// matches them: what the Node authorizer asks of the kubelets' rules.
func RulesAllow(attrs authorizer.Attributes, rules []*rbacv1.PolicyRule) bool {
	return slices.ContainsFunc(rules, func(r *rbacv1.PolicyRule) bool { return r != nil && ruleAllows(attrs, r) })
}
