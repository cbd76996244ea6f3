package validation

import (
	"math"
	"net"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// Supported values, listed as Kubernetes lists them in its messages.
var (
	restartPolicies        = []string{"Always", "OnFailure", "Never"}
	dnsPolicies            = []string{"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"}
	preemptionPolicies     = []string{"Never", "PreemptLowerPriority"}
	fsGroupChangePolicies  = []string{"OnRootMismatch", "Always"}
	unsatisfiableActions   = []string{"DoNotSchedule", "ScheduleAnyway"}
	maxDNSNameservers      = 3
	maxDNSSearchPaths      = 32
	taintEffects           = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
	tolerationOperators    = []string{"Equal", "Exists"}
	podIDRangeErrorMessage = validation.InclusiveRangeError(0, math.MaxInt32)
)

// ValidatePod checks a pod's spec.
func ValidatePod(p *corev1.Pod) field.ErrorList {
	return ValidatePodSpec(p.GetSpec(), field.NewPath("spec"))
}

// ValidatePodTemplate checks a PodTemplate's template as a ReplicaSet's
// is checked, without a workload's own rules (any restart policy, an
// active deadline).
func ValidatePodTemplate(pt *corev1.PodTemplate) field.ErrorList {
	return ValidatePodTemplateSpec(pt.GetTemplate(), field.NewPath("template"))
}

// ValidatePodTemplateSpec checks a pod template at path: its labels and
// its spec.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := labels(t.GetMetadata().GetLabels(), path.Child("labels"))
	if len(t.GetSpec().GetEphemeralContainers()) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return append(errs, ValidatePodSpec(t.GetSpec(), path.Child("spec"))...)
}

// ValidatePodSpec checks a defaulted pod spec at path.
func ValidatePodSpec(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	if s == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	volumes, errs := validateVolumes(s.GetVolumes(), path.Child("volumes"))
	errs = append(errs, validateContainers(s, path, volumes)...)
	errs = append(errs, validateEphemeralContainers(s, path)...)
	errs = append(errs, oneOf(s.GetRestartPolicy(), restartPolicies, path.Child("restartPolicy"))...)
	errs = append(errs, validateDNS(s, path)...)
	errs = append(errs, labels(s.GetNodeSelector(), path.Child("nodeSelector"))...)
	for _, f := range []struct {
		name, value string
		check       func(string) []string
	}{
		{"serviceAccountName", s.GetServiceAccountName(), validation.IsDNS1123Subdomain},
		{"nodeName", s.GetNodeName(), validation.IsDNS1123Subdomain},
		{"hostname", s.GetHostname(), validation.IsDNS1123Label},
		{"subdomain", s.GetSubdomain(), validation.IsDNS1123Label},
		{"priorityClassName", s.GetPriorityClassName(), validation.IsDNS1123Subdomain},
		{"runtimeClassName", s.GetRuntimeClassName(), validation.IsDNS1123Subdomain},
	} {
		if f.value != "" {
			errs = append(errs, invalid(path.Child(f.name), f.value, f.check(f.value))...)
		}
	}
	if s.TerminationGracePeriodSeconds != nil {
		errs = append(errs, nonNegative(s.GetTerminationGracePeriodSeconds(), path.Child("terminationGracePeriodSeconds"))...)
	}
	if s.ActiveDeadlineSeconds != nil {
		if v := s.GetActiveDeadlineSeconds(); v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if s.PreemptionPolicy != nil {
		errs = append(errs, oneOf(s.GetPreemptionPolicy(), preemptionPolicies, path.Child("preemptionPolicy"))...)
	}
	errs = append(errs, validateTolerations(s.GetTolerations(), path.Child("tolerations"))...)
	errs = append(errs, validatePodSecurityContext(s.GetSecurityContext(), path.Child("securityContext"))...)
	errs = append(errs, validateSysctls(s, path.Child("securityContext", "sysctls"))...)
	errs = append(errs, validateQuantities(s.GetOverhead(), path.Child("overhead"))...)
	errs = append(errs, validateTopologySpread(s.GetTopologySpreadConstraints(), path.Child("topologySpreadConstraints"))...)
	for i, h := range s.GetHostAliases() {
		if net.ParseIP(h.GetIp()) == nil {
			errs = append(errs, field.Invalid(path.Child("hostAliases").Index(i).Child("ip"), h.GetIp(), "must be valid IP address"))
		}
		for j, name := range h.GetHostnames() {
			errs = append(errs, invalid(path.Child("hostAliases").Index(i).Child("hostnames").Index(j), name, validation.IsDNS1123Subdomain(name))...)
		}
	}
	return errs
}

// validateDNS checks the DNS policy and config: policy None needs a config
// with at least one nameserver.
func validateDNS(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	errs := oneOf(s.GetDnsPolicy(), dnsPolicies, path.Child("dnsPolicy"))
	cfg, p := s.GetDnsConfig(), path.Child("dnsConfig")
	if s.GetDnsPolicy() == "None" {
		if cfg == nil {
			return append(errs, field.Required(p, "must provide `dnsConfig` when `dnsPolicy` is None"))
		}
		if len(cfg.GetNameservers()) == 0 {
			errs = append(errs, field.Required(p.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"))
		}
	}
	if cfg == nil {
		return errs
	}
	if n := len(cfg.GetNameservers()); n > maxDNSNameservers {
		errs = append(errs, field.Invalid(p.Child("nameservers"), cfg.GetNameservers(), "must not have more than 3 nameservers"))
	}
	for i, ns := range cfg.GetNameservers() {
		if net.ParseIP(ns) == nil {
			errs = append(errs, field.Invalid(p.Child("nameservers").Index(i), ns, "must be valid IP address"))
		}
	}
	if len(cfg.GetSearches()) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(p.Child("searches"), cfg.GetSearches(), "must not have more than 32 search paths"))
	}
	for i, o := range cfg.GetOptions() {
		if o.GetName() == "" {
			errs = append(errs, field.Required(p.Child("options").Index(i), "Option.Name must not be empty"))
		}
	}
	return errs
}

func validateTolerations(ts []*corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		p := path.Index(i)
		if t.GetKey() != "" {
			errs = append(errs, labelName(t.GetKey(), p.Child("key"))...)
		}
		if t.GetKey() == "" && t.GetOperator() != "Exists" {
			errs = append(errs, field.Invalid(p.Child("operator"), t.GetOperator(),
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.GetEffect() != "NoExecute" {
			errs = append(errs, field.Invalid(p.Child("effect"), t.GetEffect(), "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.GetOperator() {
		case "", "Equal":
			errs = append(errs, invalid(p.Child("operator"), t.GetValue(), validation.IsValidLabelValue(t.GetValue()))...)
		case "Exists":
			if t.GetValue() != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.GetValue(), "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.GetOperator(), tolerationOperators))
		}
		if t.GetEffect() != "" {
			errs = append(errs, taintEffect(t.GetEffect(), p.Child("effect"))...)
		}
	}
	return errs
}

func taintEffect(e string, p *field.Path) field.ErrorList {
	return oneOf(e, taintEffects, p)
}

func validatePodSecurityContext(sc *corev1.PodSecurityContext, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateIDs(sc.RunAsUser, sc.RunAsGroup, path)...)
	if sc.FsGroup != nil && !validID(sc.GetFsGroup()) {
		errs = append(errs, field.Invalid(path.Child("fsGroup"), sc.GetFsGroup(), podIDRangeErrorMessage))
	}
	for i, g := range sc.GetSupplementalGroups() {
		if !validID(g) {
			errs = append(errs, field.Invalid(path.Child("supplementalGroups").Index(i), g, podIDRangeErrorMessage))
		}
	}
	if sc.FsGroupChangePolicy != nil {
		errs = append(errs, oneOf(sc.GetFsGroupChangePolicy(), fsGroupChangePolicies, path.Child("fsGroupChangePolicy"))...)
	}
	errs = append(errs, validateSeccompProfile(sc.GetSeccompProfile(), path.Child("seccompProfile"))...)
	return errs
}

var seccompProfileTypes = []string{"Localhost", "RuntimeDefault", "Unconfined"}

// validateSeccompProfile checks a pod's or container's seccomp profile: a
// known type, and a profile file, below the kubelet's directory, exactly
// when the type is Localhost.
func validateSeccompProfile(sp *corev1.SeccompProfile, path *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case sp.GetType() == "":
		errs = append(errs, field.Required(path.Child("type"), "type is required when seccompProfile is set"))
	case !slices.Contains(seccompProfileTypes, sp.GetType()):
		errs = append(errs, field.NotSupported(path.Child("type"), sp.GetType(), seccompProfileTypes))
	}
	switch {
	case sp.GetType() == "Localhost" && sp.LocalhostProfile == nil:
		errs = append(errs, field.Required(path.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
	case sp.GetType() == "Localhost":
		errs = append(errs, localDescendingPath(sp.GetLocalhostProfile(), path.Child("localhostProfile"))...)
	case sp.LocalhostProfile != nil:
		errs = append(errs, field.Invalid(path.Child("localhostProfile"), sp.GetLocalhostProfile(), "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func validateTopologySpread(cs []*corev1.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		p := path.Index(i)
		if c.GetMaxSkew() <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.GetMaxSkew(), "must be greater than zero"))
		}
		if c.GetTopologyKey() == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, labelName(c.GetTopologyKey(), p.Child("topologyKey"))...)
		}
		errs = append(errs, oneOf(c.GetWhenUnsatisfiable(), unsatisfiableActions, p.Child("whenUnsatisfiable"))...)
		errs = append(errs, validateLabelSelector(c.GetLabelSelector(), p.Child("labelSelector"))...)
	}
	return errs
}

// validateQuantities checks that every quantity of a resource list parses
// and is not negative.
func validateQuantities(list map[string]*metav1.Quantity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedKeys(list) {
		if _, err := quantity(list[name], path.Key(name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// quantity parses q, reporting a value that does not parse or is
// negative.
func quantity(q *metav1.Quantity, p *field.Path) (resource.Quantity, *field.Error) {
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return v, field.Invalid(p, q.GetString_(), err.Error())
	}
	if v.Sign() < 0 {
		return v, field.Invalid(p, v.String(), "must be greater than or equal to 0")
	}
	return v, nil
}

func validID(id int64) bool { return id >= 0 && id <= math.MaxInt32 }

// validateIDs checks the user and group a pod or container runs as.
func validateIDs(user, group *int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil && !validID(*user) {
		errs = append(errs, field.Invalid(path.Child("runAsUser"), *user, podIDRangeErrorMessage))
	}
	if group != nil && !validID(*group) {
		errs = append(errs, field.Invalid(path.Child("runAsGroup"), *group, podIDRangeErrorMessage))
	}
	return errs
}
