package validation

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// The resource names Kubernetes knows without a domain: those that may
// name any resource, those a quota may limit and those counted in whole
// units. Huge pages (hugepages-<size>, requests.hugepages-<size>) are
// standard besides.
var (
	standardResources = []string{
		"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
		"limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "resourcequotas", "services",
		"replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage",
		"services.nodeports", "services.loadbalancers",
	}
	standardQuotaResources = []string{
		"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
		"requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
		"resourcequotas", "services", "replicationcontrollers", "secrets", "persistentvolumeclaims", "configmaps",
		"services.nodeports", "services.loadbalancers",
	}
	integerResources = []string{
		"pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps",
		"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
	}
	limitTypes  = []string{"Pod", "Container", "PersistentVolumeClaim"}
	quotaScopes = []string{"Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
		"VolumeAttributesClass", "CrossNamespacePodAffinity"}
	// podScopes may filter only the pod resources (BestEffort only their
	// count: a best-effort pod requests nothing).
	podScopes         = []string{"Terminating", "NotTerminating", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity"}
	podComputeQuota   = []string{"pods", "cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"}
	existsOnlyScopes  = []string{"BestEffort", "NotBestEffort", "Terminating", "NotTerminating", "CrossNamespacePodAffinity"}
	conflictingScopes = [][2]string{{"BestEffort", "NotBestEffort"}, {"Terminating", "NotTerminating"}}
)

func quotaHugePages(name string) bool {
	return strings.HasPrefix(name, "hugepages-") || strings.HasPrefix(name, "requests.hugepages-")
}

// genericResourceName checks a resource name anywhere: a qualified name,
// and without a domain one Kubernetes knows.
func genericResourceName(name string, p *field.Path) field.ErrorList {
	if errs := invalid(p, name, validation.IsQualifiedName(name)); len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") && !slices.Contains(standardResources, name) && !quotaHugePages(name) {
		return field.ErrorList{field.Invalid(p, name, "must be a standard resource type or fully qualified")}
	}
	return nil
}

// containerResourceName checks a resource name that containers request:
// cpu, memory, ephemeral-storage, huge pages, or an extended resource.
func containerResourceName(name string, p *field.Path) field.ErrorList {
	errs := genericResourceName(name, p)
	if !strings.Contains(name, "/") {
		if !slices.Contains([]string{"cpu", "memory", "ephemeral-storage"}, name) && !strings.HasPrefix(name, "hugepages-") {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !nativeResource(name) && !extendedResource(name) {
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// quotaResourceName checks a resource name a quota limits: a standard
// quota resource, or a qualified one (count/<resource>, extended
// resources).
func quotaResourceName(name string, p *field.Path) field.ErrorList {
	errs := genericResourceName(name, p)
	if !strings.Contains(name, "/") && !slices.Contains(standardQuotaResources, name) && !quotaHugePages(name) {
		errs = append(errs, field.Invalid(p, name, "must be a standard resource for quota"))
	}
	return errs
}

// parseQuantity reads a quantity; one that does not parse is an error at
// p, as it is a decoding error in Kubernetes.
func parseQuantity(q *metav1.Quantity, p *field.Path) (resource.Quantity, *field.Error) {
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return v, field.Invalid(p, q.GetString_(), err.Error())
	}
	return v, nil
}

// ValidateLimitRange checks a LimitRange as Kubernetes does: known
// types, each once; resource names that fit the type; no defaults for
// pods; and, per resource, min ≤ default request ≤ default ≤ max, a
// ratio of at least 1 that max/min allows, and equal defaults for
// resources that cannot be overcommitted.
func ValidateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "limits")
	seen := map[string]bool{}
	for i, item := range lr.GetSpec().GetLimits() {
		ip := p.Index(i)
		typ := item.GetType()
		if msgs := validation.IsQualifiedName(typ); len(msgs) > 0 {
			errs = append(errs, invalid(ip.Child("type"), typ, msgs)...)
		} else if !strings.Contains(typ, "/") && !slices.Contains(limitTypes, typ) {
			errs = append(errs, field.Invalid(ip.Child("type"), typ, "must be a standard limit type or fully qualified"))
		}
		if seen[typ] {
			errs = append(errs, field.Duplicate(ip.Child("type"), typ))
		}
		seen[typ] = true

		name := func(n string, np *field.Path) field.ErrorList {
			if typ == "Pod" || typ == "Container" {
				return containerResourceName(n, np)
			}
			return genericResourceName(n, np)
		}
		values := map[string]map[string]resource.Quantity{}
		read := func(child string, list map[string]*metav1.Quantity) {
			values[child] = map[string]resource.Quantity{}
			for _, k := range sortedKeys(list) {
				kp := ip.Child(child).Key(k)
				errs = append(errs, name(k, kp)...)
				v, err := parseQuantity(list[k], kp)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				values[child][k] = v
			}
		}
		read("max", item.GetMax())
		read("min", item.GetMin())
		if typ == "Pod" {
			if len(item.GetDefault()) > 0 {
				errs = append(errs, field.Forbidden(ip.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(item.GetDefaultRequest()) > 0 {
				errs = append(errs, field.Forbidden(ip.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			read("default", item.GetDefault())
			read("defaultRequest", item.GetDefaultRequest())
		}
		if typ == "PersistentVolumeClaim" {
			_, hasMin := item.GetMin()["storage"]
			_, hasMax := item.GetMax()["storage"]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(ip.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		read("maxLimitRequestRatio", item.GetMaxLimitRequestRatio())
		errs = append(errs, limitRangeBounds(values, ip)...)
	}
	return errs
}

// limitRangeBounds checks how one item's quantities relate, resource by
// resource (in name order).
func limitRangeBounds(v map[string]map[string]resource.Quantity, ip *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := map[string]bool{}
	for _, list := range v {
		for k := range list {
			keys[k] = true
		}
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	for _, k := range sortedKeys(keys) {
		minQ, hasMin := v["min"][k]
		maxQ, hasMax := v["max"][k]
		def, hasDef := v["default"][k]
		defReq, hasDefReq := v["defaultRequest"][k]
		ratio, hasRatio := v["maxLimitRequestRatio"][k]
		at := func(child string) *field.Path { return ip.Child(child).Key(k) }
		if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
			errs = append(errs, field.Invalid(at("min"), minQ.String(), fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
		}
		if hasDefReq && hasMin && minQ.Cmp(defReq) > 0 {
			errs = append(errs, field.Invalid(at("defaultRequest"), defReq.String(), fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), defReq.String())))
		}
		if hasDefReq && hasMax && defReq.Cmp(maxQ) > 0 {
			errs = append(errs, field.Invalid(at("defaultRequest"), defReq.String(), fmt.Sprintf("default request value %s is greater than max value %s", defReq.String(), maxQ.String())))
		}
		if hasDefReq && hasDef && defReq.Cmp(def) > 0 {
			errs = append(errs, field.Invalid(at("defaultRequest"), defReq.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", defReq.String(), def.String())))
		}
		if hasDef && hasMin && minQ.Cmp(def) > 0 {
			errs = append(errs, field.Invalid(at("default"), minQ.String(), fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), def.String())))
		}
		if hasDef && hasMax && def.Cmp(maxQ) > 0 {
			errs = append(errs, field.Invalid(at("default"), maxQ.String(), fmt.Sprintf("default value %s is greater than max value %s", def.String(), maxQ.String())))
		}
		if hasRatio && ratio.Cmp(one) < 0 {
			errs = append(errs, field.Invalid(at("maxLimitRequestRatio"), ratio.String(), fmt.Sprintf("ratio %s is less than 1", ratio.String())))
		}
		if hasRatio && hasMin && hasMax {
			r, lo, hi := float64(ratio.Value()), minQ.Value(), maxQ.Value()
			if ratio.Value() < resource.MaxMilliValue && lo < resource.MaxMilliValue && hi < resource.MaxMilliValue {
				r, lo, hi = float64(ratio.MilliValue())/1000, minQ.MilliValue(), maxQ.MilliValue()
			}
			if bound := float64(hi) / float64(lo); r > bound {
				errs = append(errs, field.Invalid(at("maxLimitRequestRatio"), ratio.String(), fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), bound)))
			}
		}
		if !overcommitAllowed(k) && hasDef && hasDefReq && def.Cmp(defReq) != 0 {
			errs = append(errs, field.Invalid(at("defaultRequest"), defReq.String(), fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), defReq.String(), k)))
		}
	}
	return errs
}

// ValidateResourceQuota checks a quota's spec and status.
func ValidateResourceQuota(q *corev1.ResourceQuota) field.ErrorList {
	errs := validateQuotaSpec(q.GetSpec(), field.NewPath("spec"))
	errs = append(errs, quotaList(q.GetStatus().GetHard(), field.NewPath("status", "hard"))...)
	return append(errs, quotaList(q.GetStatus().GetUsed(), field.NewPath("status", "used"))...)
}

// ValidateResourceQuotaUpdate keeps the scopes (as a set).
func ValidateResourceQuotaUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	a, b := slices.Clone(q.GetSpec().GetScopes()), slices.Clone(old.GetSpec().GetScopes())
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(slices.Compact(a), slices.Compact(b)) {
		return field.ErrorList{immutable(field.NewPath("spec", "scopes"), jsonValue{q.GetSpec().GetScopes()})}
	}
	return nil
}

func validateQuotaSpec(s *corev1.ResourceQuotaSpec, p *field.Path) field.ErrorList {
	errs := quotaList(s.GetHard(), p.Child("hard"))
	hard := sortedKeys(s.GetHard())
	if scopes := s.GetScopes(); len(scopes) > 0 {
		sp := p.Child("scopes")
		for _, scope := range scopes {
			if !slices.Contains(quotaScopes, scope) {
				errs = append(errs, field.Invalid(sp, jsonValue{scopes}, "unsupported scope"))
			}
			for _, k := range hard {
				if standardQuotaResource(k) && !scopeFitsResource(scope, k) {
					errs = append(errs, field.Invalid(sp, jsonValue{scopes}, "unsupported scope applied to resource"))
				}
			}
		}
		errs = append(errs, scopeConflicts(scopes, sp, jsonValue{scopes})...)
	}
	if sel := s.GetScopeSelector(); sel != nil {
		mp := p.Child("scopeSelector", "matchExpressions")
		var names []string
		for _, r := range sel.GetMatchExpressions() {
			if !slices.Contains(quotaScopes, r.GetScopeName()) {
				errs = append(errs, field.Invalid(mp.Child("scopeName"), r.GetScopeName(), "unsupported scope"))
			}
			for _, k := range hard {
				if standardQuotaResource(k) && !scopeFitsResource(r.GetScopeName(), k) {
					errs = append(errs, field.Invalid(mp, scopeSelectorJSON(sel), "unsupported scope applied to resource"))
				}
			}
			if slices.Contains(existsOnlyScopes, r.GetScopeName()) && r.GetOperator() != "Exists" {
				errs = append(errs, field.Invalid(mp.Child("operator"), r.GetOperator(),
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
			switch r.GetOperator() {
			case "In", "NotIn":
				if len(r.GetValues()) == 0 {
					errs = append(errs, field.Required(mp.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case "Exists", "DoesNotExist":
				if len(r.GetValues()) > 0 {
					errs = append(errs, field.Invalid(mp.Child("values"), jsonValue{r.GetValues()}, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				errs = append(errs, field.Invalid(mp.Child("operator"), r.GetOperator(), "not a valid selector operator"))
			}
			names = append(names, r.GetScopeName())
		}
		// Kubernetes shows spec.scopes as the value here, whatever the
		// selector holds.
		errs = append(errs, scopeConflicts(names, mp, jsonValue{s.GetScopes()})...)
	}
	return errs
}

// scopeConflicts refuses scopes that exclude each other.
func scopeConflicts(scopes []string, p *field.Path, shown any) field.ErrorList {
	var errs field.ErrorList
	for _, pair := range conflictingScopes {
		if slices.Contains(scopes, pair[0]) && slices.Contains(scopes, pair[1]) {
			errs = append(errs, field.Invalid(p, shown, "conflicting scopes"))
		}
	}
	return errs
}

func standardQuotaResource(name string) bool {
	return slices.Contains(standardQuotaResources, name) || quotaHugePages(name)
}

// scopeFitsResource: the pod scopes filter only pod resources;
// VolumeAttributesClass only claims and their storage; other scopes any.
func scopeFitsResource(scope, name string) bool {
	switch {
	case slices.Contains(podScopes, scope):
		return slices.Contains(podComputeQuota, name)
	case scope == "BestEffort":
		return name == "pods"
	case scope == "VolumeAttributesClass":
		return name == "persistentvolumeclaims" || name == "requests.storage"
	}
	return true
}

// scopeSelectorJSON is a scope selector as Kubernetes shows it in an
// error: the JSON of its internal type, which has no JSON names.
func scopeSelectorJSON(s *corev1.ScopeSelector) jsonValue {
	type requirement struct {
		ScopeName, Operator string
		Values              []string
	}
	var out struct{ MatchExpressions []requirement }
	for _, r := range s.GetMatchExpressions() {
		out.MatchExpressions = append(out.MatchExpressions, requirement{r.GetScopeName(), r.GetOperator(), r.GetValues()})
	}
	return jsonValue{out}
}

// quotaList checks a quota's resource list: names a quota may limit,
// quantities that are not negative, and whole numbers of the counted
// resources.
func quotaList(list map[string]*metav1.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(list) {
		kp := p.Key(k)
		errs = append(errs, quotaResourceName(k, kp)...)
		v, err := parseQuantity(list[k], kp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v.Sign() < 0 {
			errs = append(errs, field.Invalid(kp, v.String(), "must be greater than or equal to 0"))
		}
		if (slices.Contains(integerResources, k) || extendedResource(k)) && v.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(kp, v.String(), "must be an integer"))
		}
	}
	return errs
}
