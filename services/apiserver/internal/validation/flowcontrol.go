package validation

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	"skiff.dev/services/apiserver/internal/apf"
	"skiff.dev/services/apiserver/internal/field"
)

// Supported values of flowcontrol.apiserver.k8s.io/v1, sorted as
// Kubernetes lists them in its messages.
var (
	distinguisherMethods = []string{"ByNamespace", "ByUser"}
	subjectKinds         = []string{"Group", "ServiceAccount", "User"}
	enablements          = []string{"Exempt", "Limited"}
	limitResponseTypes   = []string{"Queue", "Reject"}
	flowVerbs            = []string{"create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"}
)

const (
	maxMatchingPrecedence = 10000
	maxQueues             = 10 * 1000 * 1000
	maxHashBits           = 60 // shuffle sharding's hash bits
	nsErrIntro            = "each member of this list must be '*' or a DNS-1123 label; "
)

// ValidateFlowSchema checks a FlowSchema's spec and status as
// Kubernetes does; the spec of a mandatory schema (exempt, catch-all) must
// be its fixed value.
func ValidateFlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	name, sp, p := fs.GetMetadata().GetName(), fs.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	mp := p.Child("matchingPrecedence")
	switch prec := sp.GetMatchingPrecedence(); {
	case prec <= 0:
		errs = append(errs, field.Invalid(mp, prec, "must be a positive value"))
	case prec > maxMatchingPrecedence:
		errs = append(errs, field.Invalid(mp, prec, fmt.Sprintf("must not be greater than %d", maxMatchingPrecedence)))
	case prec == 1 && name != "exempt":
		errs = append(errs, field.Invalid(mp, prec, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if dm := sp.GetDistinguisherMethod(); dm != nil && !slices.Contains(distinguisherMethods, dm.GetType()) {
		errs = append(errs, field.NotSupported(p.Child("distinguisherMethod", "type"), dm.GetType(), distinguisherMethods))
	}
	plp := p.Child("priorityLevelConfiguration", "name")
	if pl := sp.GetPriorityLevelConfiguration().GetName(); pl == "" {
		errs = append(errs, field.Required(plp, "must reference a priority level"))
	} else {
		errs = append(errs, invalid(plp, pl, validation.IsDNS1123Subdomain(pl))...)
	}
	for i, r := range sp.GetRules() {
		errs = append(errs, validatePolicyRules(r, p.Child("rules").Index(i))...)
	}
	if mand, ok := apf.MandatoryFlowSchema(name); ok && !proto.Equal(sp, mand.GetSpec()) {
		errs = append(errs, field.Invalid(p, "", fmt.Sprintf("spec of '%s' must equal the fixed value", name)))
	}
	return append(errs, validateConditionTypes(flowSchemaConditionTypes(fs), field.NewPath("status"))...)
}

func validatePolicyRules(r *flowcontrolv1.PolicyRulesWithSubjects, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.GetSubjects()) == 0 {
		errs = append(errs, field.Required(p.Child("subjects"), "subjects must contain at least one value"))
	}
	for i, s := range r.GetSubjects() {
		errs = append(errs, validateSubject(s, p.Child("subjects").Index(i))...)
	}
	if len(r.GetResourceRules()) == 0 && len(r.GetNonResourceRules()) == 0 {
		errs = append(errs, field.Required(p, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i, rr := range r.GetResourceRules() {
		errs = append(errs, validateResourceRule(rr, p.Child("resourceRules").Index(i))...)
	}
	for i, nr := range r.GetNonResourceRules() {
		errs = append(errs, validateNonResourceRule(nr, p.Child("nonResourceRules").Index(i))...)
	}
	return errs
}

// validateSubject checks a subject's kind and that only its member is set.
func validateSubject(s *flowcontrolv1.Subject, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, member, kind string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(member), fmt.Sprintf("%s is forbidden when subject kind is not '%s'", member, kind)))
		}
	}
	switch s.GetKind() {
	case "ServiceAccount":
		sa, sp := s.GetServiceAccount(), p.Child("serviceAccount")
		switch {
		case sa == nil:
			errs = append(errs, field.Required(sp, "serviceAccount is required when subject kind is 'ServiceAccount'"))
		default:
			if sa.GetName() == "" {
				errs = append(errs, field.Required(sp.Child("name"), ""))
			} else if sa.GetName() != "*" {
				errs = append(errs, invalid(sp.Child("name"), sa.GetName(), apimachineryvalidation.ValidateServiceAccountName(sa.GetName(), false))...)
			}
			if sa.GetNamespace() == "" {
				errs = append(errs, field.Required(sp.Child("namespace"), "must specify namespace for service account"))
			} else {
				errs = append(errs, invalid(sp.Child("namespace"), sa.GetNamespace(), apimachineryvalidation.ValidateNamespaceName(sa.GetNamespace(), false))...)
			}
		}
		forbid(s.User != nil, "user", "User")
		forbid(s.Group != nil, "group", "Group")
	case "User":
		errs = append(errs, validateNamedSubject(s.User != nil, s.GetUser().GetName(), "user", "User", p)...)
		forbid(s.ServiceAccount != nil, "serviceAccount", "ServiceAccount")
		forbid(s.Group != nil, "group", "Group")
	case "Group":
		errs = append(errs, validateNamedSubject(s.Group != nil, s.GetGroup().GetName(), "group", "Group", p)...)
		forbid(s.ServiceAccount != nil, "serviceAccount", "ServiceAccount")
		forbid(s.User != nil, "user", "User")
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.GetKind(), subjectKinds))
	}
	return errs
}

func validateNamedSubject(set bool, name, member, kind string, p *field.Path) field.ErrorList {
	switch {
	case !set:
		return field.ErrorList{field.Required(p.Child(member), fmt.Sprintf("%s is required when subject kind is '%s'", member, kind))}
	case name == "":
		return field.ErrorList{field.Required(p.Child(member, "name"), "")}
	}
	return nil
}

// validateVerbs checks a rule's verbs: "*" alone, or supported verbs.
func validateVerbs(verbs []string, p *field.Path) field.ErrorList {
	switch {
	case len(verbs) == 0:
		return field.ErrorList{field.Required(p, "verbs must contain at least one value")}
	case slices.Contains(verbs, "*"):
		if len(verbs) > 1 {
			return field.ErrorList{field.Invalid(p, verbs, "if '*' is present, must not specify other verbs")}
		}
	default:
		for _, v := range verbs {
			if !slices.Contains(flowVerbs, v) {
				return field.ErrorList{field.NotSupported(p, strings.Join(verbs, ","), flowVerbs)}
			}
		}
	}
	return nil
}

// wildcardAlone reports a list that has "*" and more.
func wildcardAlone(list []string, p *field.Path, what string) field.ErrorList {
	if len(list) > 1 && slices.Contains(list, "*") {
		return field.ErrorList{field.Invalid(p, list, fmt.Sprintf("if '*' is present, must not specify other %s", what))}
	}
	return nil
}

func validateResourceRule(r *flowcontrolv1.ResourcePolicyRule, p *field.Path) field.ErrorList {
	errs := validateVerbs(r.GetVerbs(), p.Child("verbs"))
	if len(r.GetApiGroups()) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	errs = append(errs, wildcardAlone(r.GetApiGroups(), p.Child("apiGroups"), "api groups")...)
	if len(r.GetResources()) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
	}
	errs = append(errs, wildcardAlone(r.GetResources(), p.Child("resources"), "resources")...)
	nsp := p.Child("namespaces")
	switch {
	case len(r.GetNamespaces()) == 0 && !r.GetClusterScope():
		errs = append(errs, field.Required(nsp, "resource rules that are not cluster scoped must supply at least one namespace"))
	case slices.Contains(r.GetNamespaces(), "*"):
		errs = append(errs, wildcardAlone(r.GetNamespaces(), nsp, "namespaces")...)
	default:
		for i, ns := range r.GetNamespaces() {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(ns, false) {
				errs = append(errs, field.Invalid(nsp.Index(i), ns, nsErrIntro+msg))
			}
		}
	}
	return errs
}

func validateNonResourceRule(r *flowcontrolv1.NonResourcePolicyRule, p *field.Path) field.ErrorList {
	errs := validateVerbs(r.GetVerbs(), p.Child("verbs"))
	up := p.Child("nonResourceURLs")
	switch urls := r.GetNonResourceUrls(); {
	case len(urls) == 0:
		errs = append(errs, field.Required(up, "nonResourceURLs must contain at least one value"))
	case slices.Contains(urls, "*"):
		errs = append(errs, wildcardAlone(urls, up, "non-resource URLs")...)
	default:
		for i, u := range urls {
			if msg := nonResourceURL(u); msg != "" {
				errs = append(errs, field.Invalid(up.Index(i), u, msg))
			}
		}
	}
	return errs
}

// nonResourceURL says what is wrong with a URL path of a rule: it starts
// with a slash, has no spaces or double slashes, and "*" only as its last
// segment.
func nonResourceURL(path string) string {
	switch {
	case path == "":
		return "must not be empty"
	case path == "/":
		return ""
	case !strings.HasPrefix(path, "/"):
		return "must start with slash"
	case strings.Contains(path, " "):
		return "must not contain white-space"
	case strings.Contains(path, "//"):
		return "must not contain double slash"
	}
	if n := strings.Count(path, "*"); n > 1 || (n == 1 && !strings.HasSuffix(path, "/*")) {
		return "wildcard can only do suffix matching"
	}
	return ""
}

// validateConditionTypes checks a status's conditions: each has a type,
// and no type twice.
func validateConditionTypes(types []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, typ := range types {
		cp := p.Child("conditions").Index(i)
		if seen[typ] {
			errs = append(errs, field.Duplicate(cp.Child("type"), typ))
		}
		seen[typ] = true
		if typ == "" {
			errs = append(errs, field.Required(cp.Child("type"), "must not be empty"))
		}
	}
	return errs
}

func flowSchemaConditionTypes(fs *flowcontrolv1.FlowSchema) []string {
	var out []string
	for _, c := range fs.GetStatus().GetConditions() {
		out = append(out, c.GetType())
	}
	return out
}

// ValidatePriorityLevelConfiguration checks a priority level as Kubernetes
// does: Exempt if and only if it is named exempt, a limited level's shares,
// percentages and queues; the spec of a mandatory level must be its fixed
// value (exempt's exempt settings may change).
func ValidatePriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	name, sp, p := pl.GetMetadata().GetName(), pl.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	if _, ok := pl.GetMetadata().GetAnnotations()[preserveZeroSharesAnnotation]; ok {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations"), fmt.Sprintf("annotation '%s' is forbidden", preserveZeroSharesAnnotation)))
	}
	if (name == "exempt") != (sp.GetType() == "Exempt") {
		errs = append(errs, field.Invalid(p.Child("type"), sp.GetType(), "type must be 'Exempt' if and only if name is 'exempt'"))
	}
	switch sp.GetType() {
	case "Exempt":
		if sp.Limited != nil {
			errs = append(errs, field.Forbidden(p.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := sp.GetExempt(); e != nil {
			ep := p.Child("exempt")
			if e.NominalConcurrencyShares != nil && e.GetNominalConcurrencyShares() < 0 {
				errs = append(errs, field.Invalid(ep.Child("nominalConcurrencyShares"), e.GetNominalConcurrencyShares(), "must be a non-negative integer"))
			}
			errs = append(errs, percent(e.LendablePercent, ep.Child("lendablePercent"))...)
		}
	case "Limited":
		if sp.Exempt != nil {
			errs = append(errs, field.Forbidden(p.Child("exempt"), "must be nil if the type is Limited"))
		}
		if sp.Limited == nil {
			errs = append(errs, field.Required(p.Child("limited"), "must not be empty when type is Limited"))
		} else {
			errs = append(errs, validateLimited(sp.GetLimited(), p.Child("limited"))...)
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), sp.GetType(), enablements))
	}
	if mand, ok := apf.MandatoryPriorityLevel(name); ok {
		have := proto.Clone(sp).(*flowcontrolv1.PriorityLevelConfigurationSpec)
		fixed := "spec of '%s' must equal the fixed value"
		if name == "exempt" {
			have.Exempt = mand.GetSpec().GetExempt()
			fixed = "spec of '%s' except the 'spec.exempt' field must equal the fixed value"
		}
		if !proto.Equal(have, mand.GetSpec()) {
			errs = append(errs, field.Invalid(p, "", fmt.Sprintf(fixed, name)))
		}
	}
	var types []string
	for _, c := range pl.GetStatus().GetConditions() {
		types = append(types, c.GetType())
	}
	return append(errs, validateConditionTypes(types, field.NewPath("status"))...)
}

// preserveZeroSharesAnnotation is v1beta3's round-trip marker, which v1
// objects may not carry.
const preserveZeroSharesAnnotation = "flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares"

func percent(v *int32, p *field.Path) field.ErrorList {
	if v != nil && (*v < 0 || *v > 100) {
		return field.ErrorList{field.Invalid(p, *v, "must be between 0 and 100, inclusive")}
	}
	return nil
}

func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if l.GetNominalConcurrencyShares() < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), l.GetNominalConcurrencyShares(), "must be a non-negative integer"))
	}
	lr, lp := l.GetLimitResponse(), p.Child("limitResponse")
	switch lr.GetType() {
	case "Reject":
		if lr.Queuing != nil {
			errs = append(errs, field.Forbidden(lp.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case "Queue":
		if lr.Queuing == nil {
			errs = append(errs, field.Required(lp.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited"))
		} else {
			errs = append(errs, validateQueuing(lr.GetQueuing(), lp.Child("queuing"))...)
		}
	default:
		errs = append(errs, field.NotSupported(lp.Child("type"), lr.GetType(), limitResponseTypes))
	}
	errs = append(errs, percent(l.LendablePercent, p.Child("lendablePercent"))...)
	if l.BorrowingLimitPercent != nil && l.GetBorrowingLimitPercent() < 0 {
		errs = append(errs, field.Invalid(p.Child("borrowingLimitPercent"), l.GetBorrowingLimitPercent(), "if specified, must be a non-negative integer"))
	}
	return errs
}

// validateQueuing checks the queues and that shuffle sharding has the hash
// bits the hand needs.
func validateQueuing(q *flowcontrolv1.QueuingConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.GetQueueLengthLimit() <= 0 {
		errs = append(errs, field.Invalid(p.Child("queueLengthLimit"), q.GetQueueLengthLimit(), "must be positive"))
	}
	switch {
	case q.GetQueues() <= 0:
		errs = append(errs, field.Invalid(p.Child("queues"), q.GetQueues(), "must be positive"))
	case q.GetQueues() > maxQueues:
		errs = append(errs, field.Invalid(p.Child("queues"), q.GetQueues(), fmt.Sprintf("must not be greater than %d", maxQueues)))
	}
	hp := p.Child("handSize")
	switch {
	case q.GetHandSize() <= 0:
		errs = append(errs, field.Invalid(hp, q.GetHandSize(), "must be positive"))
	case q.GetHandSize() > q.GetQueues():
		errs = append(errs, field.Invalid(hp, q.GetHandSize(), fmt.Sprintf("should not be greater than queues (%d)", q.GetQueues())))
	case entropyBits(q.GetQueues(), q.GetHandSize()) > maxHashBits:
		errs = append(errs, field.Invalid(hp, q.GetHandSize(),
			fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d", q.GetQueues(), q.GetHandSize(), maxHashBits)))
	}
	return errs
}

// entropyBits is what shuffle sharding a deck with hands takes of a hash.
func entropyBits(deck, hand int32) int {
	return int(math.Ceil(math.Log2(float64(deck)) * float64(hand)))
}
