package validation

import (
	"fmt"
	"slices"
	"strings"

	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/admission/webhook/conditions"
	"skiff.dev/services/apiserver/internal/field"
)

// The values admissionregistration/v1 accepts, in the sorted order
// Kubernetes lists them in its messages.
var (
	failurePolicies      = []string{"Fail", "Ignore"}
	matchPolicies        = []string{"Equivalent", "Exact"}
	sideEffectClasses    = []string{"None", "NoneOnDryRun", "Some", "Unknown"}
	noSideEffectClasses  = []string{"None", "NoneOnDryRun"}
	reinvocationPolicies = []string{"IfNeeded", "Never"}
	ruleOperations       = []string{"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}
	ruleScopes           = []string{"*", "Cluster", "Namespaced"}
	// admissionReviewVersions are the AdmissionReview versions the
	// apiserver sends; a webhook must understand one of them.
	admissionReviewVersions = []string{"v1", "v1beta1"}
)

// webhookRules are what a configuration's webhooks must satisfy. A new
// configuration must satisfy all; an update only what the stored one
// already did, so a configuration stored by an older version stays
// writable.
type webhookRules struct {
	noSideEffects, knownReviewVersion, uniqueNames, strictSelectors, checkConditions bool
}

var newWebhookRules = webhookRules{noSideEffects: true, knownReviewVersion: true, uniqueNames: true, strictSelectors: true, checkConditions: true}

// webhook is what validation reads of a validating or a mutating webhook.
type webhook struct {
	name                                    string
	clientConfig                            *admissionregistrationv1.WebhookClientConfig
	rules                                   []*admissionregistrationv1.RuleWithOperations
	failurePolicy, matchPolicy, sideEffects *string
	timeoutSeconds                          *int32
	namespaceSelector, objectSelector       *metav1.LabelSelector
	reviewVersions                          []string
	matchConditions                         []*admissionregistrationv1.MatchCondition
	// reinvocationPolicy is a mutating webhook's.
	mutating           bool
	reinvocationPolicy *string
}

func validatingWebhooks(list []*admissionregistrationv1.ValidatingWebhook) []webhook {
	out := make([]webhook, len(list))
	for i, w := range list {
		out[i] = webhook{name: w.GetName(), clientConfig: w.GetClientConfig(), rules: w.GetRules(),
			failurePolicy: w.FailurePolicy, matchPolicy: w.MatchPolicy, sideEffects: w.SideEffects, timeoutSeconds: w.TimeoutSeconds,
			namespaceSelector: w.GetNamespaceSelector(), objectSelector: w.GetObjectSelector(),
			reviewVersions: w.GetAdmissionReviewVersions(), matchConditions: w.GetMatchConditions()}
	}
	return out
}

func mutatingWebhooks(list []*admissionregistrationv1.MutatingWebhook) []webhook {
	out := make([]webhook, len(list))
	for i, w := range list {
		out[i] = webhook{name: w.GetName(), clientConfig: w.GetClientConfig(), rules: w.GetRules(),
			failurePolicy: w.FailurePolicy, matchPolicy: w.MatchPolicy, sideEffects: w.SideEffects, timeoutSeconds: w.TimeoutSeconds,
			namespaceSelector: w.GetNamespaceSelector(), objectSelector: w.GetObjectSelector(),
			reviewVersions: w.GetAdmissionReviewVersions(), matchConditions: w.GetMatchConditions(),
			mutating: true, reinvocationPolicy: w.ReinvocationPolicy}
	}
	return out
}

// ValidateValidatingWebhookConfiguration checks a new configuration.
func ValidateValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	return webhooks(validatingWebhooks(c.GetWebhooks()), newWebhookRules)
}

// ValidateValidatingWebhookConfigurationUpdate checks an update against
// the rules the stored configuration met.
func ValidateValidatingWebhookConfigurationUpdate(c, old *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	return webhooks(validatingWebhooks(c.GetWebhooks()), rulesMetBy(validatingWebhooks(old.GetWebhooks()), validatingWebhooks(c.GetWebhooks())))
}

// ValidateMutatingWebhookConfiguration checks a new configuration.
func ValidateMutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	return webhooks(mutatingWebhooks(c.GetWebhooks()), newWebhookRules)
}

// ValidateMutatingWebhookConfigurationUpdate checks an update against the
// rules the stored configuration met.
func ValidateMutatingWebhookConfigurationUpdate(c, old *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	return webhooks(mutatingWebhooks(c.GetWebhooks()), rulesMetBy(mutatingWebhooks(old.GetWebhooks()), mutatingWebhooks(c.GetWebhooks())))
}

// rulesMetBy relaxes each rule the stored webhooks broke; match
// conditions are checked again only when they changed.
func rulesMetBy(old, hooks []webhook) webhookRules {
	r := webhookRules{noSideEffects: true, knownReviewVersion: true, uniqueNames: true, strictSelectors: true}
	names := map[string]bool{}
	for _, w := range old {
		if w.sideEffects == nil || !slices.Contains(noSideEffectClasses, *w.sideEffects) {
			r.noSideEffects = false
		}
		if len(w.reviewVersions) > 0 && !knownReviewVersions(w.reviewVersions) {
			r.knownReviewVersion = false
		}
		if names[w.name] {
			r.uniqueNames = false
		}
		names[w.name] = true
		for _, sel := range []*metav1.LabelSelector{w.namespaceSelector, w.objectSelector} {
			if sel != nil && len(labelSelector(sel, false, nil)) > 0 {
				r.strictSelectors = false
			}
		}
	}
	if len(old) != len(hooks) {
		r.checkConditions = true
	}
	for i := 0; i < len(old) && i < len(hooks) && !r.checkConditions; i++ {
		if !slices.EqualFunc(old[i].matchConditions, hooks[i].matchConditions, func(a, b *admissionregistrationv1.MatchCondition) bool {
			return a.GetName() == b.GetName() && a.GetExpression() == b.GetExpression()
		}) {
			r.checkConditions = true
		}
	}
	return r
}

func knownReviewVersions(versions []string) bool {
	return slices.ContainsFunc(versions, func(v string) bool { return slices.Contains(admissionReviewVersions, v) })
}

// webhooks checks each webhook, its review versions and that names are
// unique, in Kubernetes' order.
func webhooks(hooks []webhook, r webhookRules) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, w := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, checkWebhook(w, r, p)...)
		errs = append(errs, admissionReviews(w.reviewVersions, r.knownReviewVersion, p.Child("admissionReviewVersions"))...)
		if r.uniqueNames && w.name != "" {
			if names[w.name] {
				errs = append(errs, field.Duplicate(p.Child("name"), w.name))
			}
			names[w.name] = true
		}
	}
	return errs
}

func checkWebhook(w webhook, r webhookRules, p *field.Path) field.ErrorList {
	errs := fromK8s(validation.IsFullyQualifiedName(k8sPath(p.Child("name")), w.name))
	for i, rule := range w.rules {
		errs = append(errs, ruleWithOperations(rule, p.Child("rules").Index(i))...)
	}
	if w.failurePolicy != nil && !slices.Contains(failurePolicies, *w.failurePolicy) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *w.failurePolicy, failurePolicies))
	}
	if w.matchPolicy != nil && !slices.Contains(matchPolicies, *w.matchPolicy) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *w.matchPolicy, matchPolicies))
	}
	allowed := sideEffectClasses
	if r.noSideEffects {
		allowed = noSideEffectClasses
	}
	switch {
	case w.sideEffects == nil:
		errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of "+strings.Join(allowed, ", ")))
	case !slices.Contains(allowed, *w.sideEffects):
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *w.sideEffects, allowed))
	}
	if t := w.timeoutSeconds; t != nil && (*t > 30 || *t < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
	}
	if w.namespaceSelector != nil {
		errs = append(errs, labelSelector(w.namespaceSelector, !r.strictSelectors, p.Child("namespaceSelector"))...)
	}
	if w.objectSelector != nil {
		errs = append(errs, labelSelector(w.objectSelector, !r.strictSelectors, p.Child("objectSelector"))...)
	}
	if w.mutating && w.reinvocationPolicy != nil && !slices.Contains(reinvocationPolicies, *w.reinvocationPolicy) {
		errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), *w.reinvocationPolicy, reinvocationPolicies))
	}
	cc, ccp := w.clientConfig, p.Child("clientConfig")
	switch {
	case (cc.Url == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(ccp, "exactly one of url or service is required"))
	case cc.Url != nil:
		errs = append(errs, webhookURL(cc.GetUrl(), ccp.Child("url"))...)
	default:
		svc := cc.GetService()
		errs = append(errs, webhookService(svc.GetNamespace(), svc.GetName(), svc.Path, svc.GetPort(), ccp.Child("service"))...)
	}
	if r.checkConditions {
		errs = append(errs, matchConditions(w.matchConditions, p.Child("matchConditions"))...)
	}
	return errs
}

func labelSelector(sel *metav1.LabelSelector, allowInvalidValues bool, p *field.Path) field.ErrorList {
	return fromK8s(metavalidation.ValidateLabelSelector(toK8sSelector(sel),
		metavalidation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidValues}, k8sPath(p)))
}

func ruleWithOperations(r *admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ops := r.GetOperations()
	if len(ops) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(ops) > 1 && slices.Contains(ops, "*") {
		errs = append(errs, field.Invalid(p.Child("operations"), jsonValue{ops}, "if '*' is present, must not specify other operations"))
	}
	for i, op := range ops {
		if !slices.Contains(ruleOperations, op) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, ruleOperations))
		}
	}
	return append(errs, rule(r.GetRule(), p)...)
}

// rule checks a rule's groups, versions, resources (subresources
// allowed) and scope; a rule's fields are inline in its
// RuleWithOperations, and so are their paths.
func rule(r *admissionregistrationv1.Rule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	groups, versions := r.GetApiGroups(), r.GetApiVersions()
	if len(groups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(groups) > 1 && slices.Contains(groups, "*") {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), jsonValue{groups}, "if '*' is present, must not specify other API groups"))
	}
	if len(versions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(versions) > 1 && slices.Contains(versions, "*") {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), jsonValue{versions}, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range versions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	errs = append(errs, ruleResources(r.GetResources(), p.Child("resources"))...)
	if r.Scope != nil && !slices.Contains(ruleScopes, r.GetScope()) {
		errs = append(errs, field.NotSupported(p.Child("scope"), r.GetScope(), ruleScopes))
	}
	return errs
}

// ruleResources: "x", "x/y", "x/*", "*/y", "*" or "*/*", without
// overlaps ("x/*" beside "x/y", "*/y" beside "x/y", "*/*" beside
// anything, "*" beside a resource without subresource).
func ruleResources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	anySub, anyRes := map[string]bool{}, map[string]bool{}
	doubleWildcard, wildcard, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		switch rs {
		case "*/*":
			doubleWildcard = true
		case "*":
			wildcard = true
		}
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			plain = rs != "*"
			continue
		}
		if anySub[res] {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if anyRes[sub] {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			anySub[res] = true
		}
		if res == "*" {
			anyRes[sub] = true
		}
	}
	if len(resources) > 1 && doubleWildcard {
		errs = append(errs, field.Invalid(p, jsonValue{resources}, "if '*/*' is present, must not specify other resources"))
	}
	if wildcard && plain {
		errs = append(errs, field.Invalid(p, jsonValue{resources}, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

func admissionReviews(versions []string, requireKnown bool, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "must specify one of "+strings.Join(admissionReviewVersions, ", "))}
	}
	var errs field.ErrorList
	for i, v := range versions {
		if slices.Index(versions[:i], v) >= 0 {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		for _, msg := range validation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
	}
	if requireKnown && !knownReviewVersions(versions) {
		errs = append(errs, field.Invalid(p, jsonValue{versions}, "must include at least one of "+strings.Join(admissionReviewVersions, ", ")))
	}
	return errs
}

// matchConditions: at most 64, each named (a qualified name, unique) with
// an expression that compiles to a bool.
func matchConditions(list []*admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(list) > 64 {
		errs = append(errs, field.TooMany(p, len(list), 64))
	}
	names := map[string]bool{}
	for i, c := range list {
		cp := p.Index(i)
		if expr := strings.TrimSpace(c.GetExpression()); expr == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		} else if _, err := conditions.Compile(c.GetName(), expr); err != nil {
			errs = append(errs, field.Invalid(cp.Child("expression"), expr, err.Error()))
		}
		if c.GetName() == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			errs = append(errs, invalid(cp.Child("name"), c.GetName(), validation.IsQualifiedName(c.GetName()))...)
		}
		if c.GetName() != "" {
			if names[c.GetName()] {
				errs = append(errs, field.Duplicate(cp.Child("name"), c.GetName()))
			}
			names[c.GetName()] = true
		}
	}
	return errs
}
