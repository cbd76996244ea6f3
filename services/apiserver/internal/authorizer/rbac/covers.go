package rbac

import (
	"slices"
	"strings"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// Covers reports whether the owner's rules allow everything the requested
// rules allow, which Kubernetes demands of whoever creates or updates a role
// or binding (escalation prevention), and returns what they do not cover.
//
// As Kubernetes does, each requested rule is broken into single rules of one
// apiGroup, resource, verb and resourceName (or one nonResourceURL and
// verb), and each of these must be covered by one owner rule. The
// comparison is of the rules' text, not of what they match: an owner's "*"
// covers any verb, group or resource, "*/log" covers "pods/log", and
// "/api/*" covers "/api/v1" and "/api/*"; but "pods/*" covers only itself,
// an owner rule with resourceNames covers only requests naming some of them,
// and an owner rule listing groups or verbs covers no requested "*".
func Covers(owner, requested []*rbacv1.PolicyRule) (bool, []*rbacv1.PolicyRule) {
	var missing []*rbacv1.PolicyRule
	for _, r := range requested {
		for _, sub := range breakdown(r) {
			covered := slices.ContainsFunc(owner, func(o *rbacv1.PolicyRule) bool {
				return o != nil && ruleCovers(o, sub)
			})
			if !covered {
				missing = append(missing, sub)
			}
		}
	}
	return len(missing) == 0, missing
}

// breakdown splits rule into rules of one group, resource, verb and name
// each, and rules of one nonResourceURL and verb.
func breakdown(rule *rbacv1.PolicyRule) []*rbacv1.PolicyRule {
	var out []*rbacv1.PolicyRule
	names := rule.GetResourceNames()
	for _, group := range rule.GetApiGroups() {
		for _, resource := range rule.GetResources() {
			for _, verb := range rule.GetVerbs() {
				base := func() *rbacv1.PolicyRule {
					return &rbacv1.PolicyRule{ApiGroups: []string{group}, Resources: []string{resource}, Verbs: []string{verb}}
				}
				if len(names) == 0 {
					out = append(out, base())
					continue
				}
				for _, name := range names {
					r := base()
					r.ResourceNames = []string{name}
					out = append(out, r)
				}
			}
		}
	}
	for _, url := range rule.GetNonResourceUrls() {
		for _, verb := range rule.GetVerbs() {
			out = append(out, &rbacv1.PolicyRule{NonResourceUrls: []string{url}, Verbs: []string{verb}})
		}
	}
	return out
}

// ruleCovers reports whether owner covers sub, a rule of at most one value
// in each field.
func ruleCovers(owner, sub *rbacv1.PolicyRule) bool {
	return coversAll(owner.GetVerbs(), sub.GetVerbs()) &&
		coversAll(owner.GetApiGroups(), sub.GetApiGroups()) &&
		resourcesCover(owner.GetResources(), sub.GetResources()) &&
		urlsCover(owner.GetNonResourceUrls(), sub.GetNonResourceUrls()) &&
		namesCover(owner.GetResourceNames(), sub.GetResourceNames())
}

// coversAll: set holds "*" or every one of want.
func coversAll(set, want []string) bool {
	return slices.Contains(set, all) || containsAll(set, want)
}

func containsAll(set, want []string) bool {
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}

func resourcesCover(set, want []string) bool {
	if slices.Contains(set, all) {
		return true
	}
	for _, w := range want {
		if slices.Contains(set, w) {
			continue
		}
		_, sub, ok := strings.Cut(w, "/")
		if !ok || !slices.Contains(set, "*/"+sub) {
			return false
		}
	}
	return true
}

func urlsCover(set, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(set, func(p string) bool { return urlCovers(p, w) }) {
			return false
		}
	}
	return true
}

// namesCover: an owner without names covers any request; one with names
// covers only a request naming some of them ("*" is no wildcard here).
func namesCover(set, want []string) bool {
	if len(set) == 0 {
		return true
	}
	return len(want) > 0 && containsAll(set, want)
}
