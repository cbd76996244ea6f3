package validation

import (
	"fmt"
	"regexp"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/sysctl"
	"skiff.dev/services/apiserver/internal/field"
)

// Kubernetes' sysctl names: dot- or slash-separated segments, at most 253
// characters.
const (
	sysctlSegment   = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlMaxLength = 253
)

var sysctlName = regexp.MustCompile("^(" + sysctlSegment + "[\\./])*" + sysctlSegment + "$")

// validateSysctls checks the pod's sysctls as Kubernetes does: valid,
// distinct names, and no network or IPC sysctl for a pod that shares that
// namespace with the node. Whether a sysctl is allowed is the kubelet's
// decision.
func validateSysctls(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, sc := range s.GetSecurityContext().GetSysctls() {
		p := path.Index(i).Child("name")
		name := sc.GetName()
		switch {
		case name == "":
			errs = append(errs, field.Required(p, ""))
		case len(name) > sysctlMaxLength || !sysctlName.MatchString(name):
			errs = append(errs, field.Invalid(p, name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlName)))
		case seen[name]:
			errs = append(errs, field.Duplicate(p, name))
		}
		seen[name] = true
		switch ns, _, _ := sysctl.NamespaceOf(name); {
		case ns == sysctl.Net && s.GetHostNetwork():
			errs = append(errs, field.Invalid(p, name, "may not be specified when 'hostNetwork' is true"))
		case ns == sysctl.IPC && s.GetHostIpc():
			errs = append(errs, field.Invalid(p, name, "may not be specified when 'hostIPC' is true"))
		}
	}
	return errs
}
