// Package validation checks objects the way Kubernetes validation does and
// reports what is wrong as field errors with Kubernetes' paths and
// messages. Metadata is checked by the registry; these functions check the
// rest of each kind.
package validation

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	restartPolicies = []string{"Always", "OnFailure", "Never"}
	dnsPolicies     = []string{"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}
	pullPolicies    = []string{"Always", "IfNotPresent", "Never"}
	protocols       = []string{"SCTP", "TCP", "UDP"}
)

func invalid(p *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(p, value, m))
	}
	return errs
}

// ValidatePod checks a pod.
func ValidatePod(p *corev1.Pod) field.ErrorList {
	return ValidatePodSpec(p.GetSpec(), field.NewPath("spec"))
}

// ValidatePodSpec checks a pod spec at path.
func ValidatePodSpec(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes, verrs := validateVolumes(s.GetVolumes(), path.Child("volumes"))
	errs = append(errs, verrs...)
	if len(s.GetContainers()) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), "must have at least one container"))
	}
	names := map[string]bool{}
	errs = append(errs, validateContainers(s.GetInitContainers(), path.Child("initContainers"), names, volumes)...)
	errs = append(errs, validateContainers(s.GetContainers(), path.Child("containers"), names, volumes)...)
	if s.RestartPolicy != nil && !slices.Contains(restartPolicies, s.GetRestartPolicy()) {
		errs = append(errs, field.NotSupported(path.Child("restartPolicy"), s.GetRestartPolicy(), restartPolicies))
	}
	if s.DnsPolicy != nil && !slices.Contains(dnsPolicies, s.GetDnsPolicy()) {
		errs = append(errs, field.NotSupported(path.Child("dnsPolicy"), s.GetDnsPolicy(), dnsPolicies))
	}
	if s.TerminationGracePeriodSeconds != nil && s.GetTerminationGracePeriodSeconds() < 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), s.GetTerminationGracePeriodSeconds(), "must be greater than or equal to 0"))
	}
	if s.ActiveDeadlineSeconds != nil && s.GetActiveDeadlineSeconds() <= 0 {
		errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), s.GetActiveDeadlineSeconds(), "must be between 1 and 2147483647, inclusive"))
	}
	if n := s.GetNodeName(); n != "" {
		errs = append(errs, invalid(path.Child("nodeName"), n, validation.IsDNS1123Subdomain(n))...)
	}
	if n := s.GetServiceAccountName(); n != "" {
		errs = append(errs, invalid(path.Child("serviceAccountName"), n, validation.IsDNS1123Subdomain(n))...)
	}
	for k, v := range s.GetNodeSelector() {
		errs = append(errs, invalid(path.Child("nodeSelector"), k, validation.IsQualifiedName(k))...)
		errs = append(errs, invalid(path.Child("nodeSelector").Key(k), v, validation.IsValidLabelValue(v))...)
	}
	for i, t := range s.GetTolerations() {
		errs = append(errs, validateToleration(t, path.Child("tolerations").Index(i))...)
	}
	return errs
}

func validateToleration(t *corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.GetKey() != "" {
		errs = append(errs, invalid(p.Child("key"), t.GetKey(), validation.IsQualifiedName(t.GetKey()))...)
	}
	switch t.GetOperator() {
	case "", "Equal":
	case "Exists":
		if t.GetValue() != "" {
			errs = append(errs, field.Invalid(p.Child("operator"), t.GetValue(), "value must be empty when `operator` is 'Exists'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("operator"), t.GetOperator(), []string{"Equal", "Exists"}))
	}
	if t.GetKey() == "" && t.GetOperator() != "Exists" {
		errs = append(errs, field.Invalid(p.Child("operator"), t.GetOperator(), "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
	}
	if e := t.GetEffect(); e != "" && !slices.Contains(taintEffects, e) {
		errs = append(errs, field.NotSupported(p.Child("effect"), e, taintEffects))
	}
	return errs
}

func validateVolumes(vols []*corev1.Volume, path *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, v := range vols {
		p := path.Index(i)
		switch {
		case v.GetName() == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names[v.GetName()]:
			errs = append(errs, field.Duplicate(p.Child("name"), v.GetName()))
		default:
			errs = append(errs, invalid(p.Child("name"), v.GetName(), validation.IsDNS1123Label(v.GetName()))...)
		}
		names[v.GetName()] = true
		n := 0
		src := v.GetVolumeSource()
		if src != nil {
			m := src.ProtoReflect()
			m.Range(func(_ protoreflect.FieldDescriptor, _ protoreflect.Value) bool { n++; return true })
		}
		switch {
		case n == 0:
			errs = append(errs, field.Required(p, "must specify a volume type"))
		case n > 1:
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
		}
		if hp := src.GetHostPath(); hp != nil && hp.GetPath() == "" {
			errs = append(errs, field.Required(p.Child("hostPath", "path"), ""))
		}
		if s := src.GetSecret(); s != nil && s.GetSecretName() == "" {
			errs = append(errs, field.Required(p.Child("secret", "secretName"), ""))
		}
		if cm := src.GetConfigMap(); cm != nil && cm.GetLocalObjectReference().GetName() == "" {
			errs = append(errs, field.Required(p.Child("configMap", "name"), ""))
		}
	}
	return names, errs
}

func validateContainers(cs []*corev1.Container, path *field.Path, names, volumes map[string]bool) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		p := path.Index(i)
		switch {
		case c.GetName() == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names[c.GetName()]:
			errs = append(errs, field.Duplicate(p.Child("name"), c.GetName()))
		default:
			errs = append(errs, invalid(p.Child("name"), c.GetName(), validation.IsDNS1123Label(c.GetName()))...)
		}
		names[c.GetName()] = true
		if strings.TrimSpace(c.GetImage()) == "" {
			errs = append(errs, field.Required(p.Child("image"), ""))
		}
		if c.GetImagePullPolicy() != "" && !slices.Contains(pullPolicies, c.GetImagePullPolicy()) {
			errs = append(errs, field.NotSupported(p.Child("imagePullPolicy"), c.GetImagePullPolicy(), pullPolicies))
		}
		errs = append(errs, validateContainerPorts(c.GetPorts(), p.Child("ports"))...)
		for j, e := range c.GetEnv() {
			ep := p.Child("env").Index(j)
			if e.GetName() == "" {
				errs = append(errs, field.Required(ep.Child("name"), ""))
			} else {
				errs = append(errs, invalid(ep.Child("name"), e.GetName(), validation.IsEnvVarName(e.GetName()))...)
			}
			if e.GetValue() != "" && e.GetValueFrom() != nil {
				errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
			}
		}
		errs = append(errs, validateResources(c.GetResources(), p.Child("resources"))...)
		for j, m := range c.GetVolumeMounts() {
			mp := p.Child("volumeMounts").Index(j)
			if m.GetName() == "" {
				errs = append(errs, field.Required(mp.Child("name"), ""))
			} else if !volumes[m.GetName()] {
				errs = append(errs, field.NotFound(mp.Child("name"), m.GetName()))
			}
			if m.GetMountPath() == "" {
				errs = append(errs, field.Required(mp.Child("mountPath"), ""))
			}
		}
		for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.GetLivenessProbe(), "readinessProbe": c.GetReadinessProbe(), "startupProbe": c.GetStartupProbe()} {
			errs = append(errs, validateProbe(probe, p.Child(name))...)
		}
	}
	return errs
}

func validateContainerPorts(ports []*corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		p := path.Index(i)
		if port.GetName() != "" {
			errs = append(errs, invalid(p.Child("name"), port.GetName(), validation.IsValidPortName(port.GetName()))...)
			if names[port.GetName()] {
				errs = append(errs, field.Duplicate(p.Child("name"), port.GetName()))
			}
			names[port.GetName()] = true
		}
		if port.GetContainerPort() == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalid(p.Child("containerPort"), port.GetContainerPort(), validation.IsValidPortNum(int(port.GetContainerPort())))...)
		}
		if port.GetHostPort() != 0 {
			errs = append(errs, invalid(p.Child("hostPort"), port.GetHostPort(), validation.IsValidPortNum(int(port.GetHostPort())))...)
		}
		if port.GetProtocol() == "" {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !slices.Contains(protocols, port.GetProtocol()) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.GetProtocol(), protocols))
		}
	}
	return errs
}

func validateResources(r *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	parsed := map[string]map[string]resource.Quantity{}
	for kind, list := range map[string]map[string]*metav1.Quantity{"limits": r.GetLimits(), "requests": r.GetRequests()} {
		parsed[kind] = map[string]resource.Quantity{}
		for name, q := range list {
			p := path.Child(kind).Key(name)
			errs = append(errs, invalid(p, name, validation.IsQualifiedName(name))...)
			v, err := resource.ParseQuantity(q.GetString_())
			if err != nil {
				errs = append(errs, field.Invalid(p, q.GetString_(), err.Error()))
				continue
			}
			if v.Sign() < 0 {
				errs = append(errs, field.Invalid(p, q.GetString_(), "must be greater than or equal to 0"))
			}
			parsed[kind][name] = v
		}
	}
	for name, req := range parsed["requests"] {
		if lim, ok := parsed["limits"][name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(path.Child("requests").Key(name), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	return errs
}

func validateProbe(pr *corev1.Probe, p *field.Path) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if pr.GetHandler() != nil {
		pr.GetHandler().ProtoReflect().Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { n++; return true })
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(p, "must specify a handler type"))
	case n > 1:
		errs = append(errs, field.Forbidden(p, "may not specify more than 1 handler type"))
	}
	for name, v := range map[string]int32{"initialDelaySeconds": pr.GetInitialDelaySeconds(), "timeoutSeconds": pr.GetTimeoutSeconds(),
		"periodSeconds": pr.GetPeriodSeconds(), "successThreshold": pr.GetSuccessThreshold(), "failureThreshold": pr.GetFailureThreshold()} {
		if v < 0 {
			errs = append(errs, field.Invalid(p.Child(name), v, "must be greater than or equal to 0"))
		}
	}
	return errs
}

// podUpdateForbidden is Kubernetes' message for a pod spec change it does
// not allow.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// ValidatePodUpdate allows only the spec changes Kubernetes allows: images,
// activeDeadlineSeconds, added tolerations.
func ValidatePodUpdate(p, old *corev1.Pod) field.ErrorList {
	path := field.NewPath("spec")
	var errs field.ErrorList
	if old.GetSpec().GetNodeName() != "" && p.GetSpec().GetNodeName() != old.GetSpec().GetNodeName() {
		errs = append(errs, field.Invalid(path.Child("nodeName"), p.GetSpec().GetNodeName(), "field is immutable"))
	}
	if len(p.GetSpec().GetContainers()) != len(old.GetSpec().GetContainers()) {
		return append(errs, field.Forbidden(path.Child("containers"), "pod updates may not add or remove containers"))
	}
	// Copy what may change from the new spec onto the old one: if the
	// specs still differ, something else changed.
	mixed := proto.Clone(old.GetSpec()).(*corev1.PodSpec)
	if mixed == nil {
		mixed = &corev1.PodSpec{}
	}
	for i, c := range p.GetSpec().GetContainers() {
		mixed.Containers[i].Image = c.GetImage()
	}
	if len(p.GetSpec().GetInitContainers()) == len(mixed.InitContainers) {
		for i, c := range p.GetSpec().GetInitContainers() {
			mixed.InitContainers[i].Image = c.GetImage()
		}
	}
	mixed.ActiveDeadlineSeconds = p.GetSpec().ActiveDeadlineSeconds
	if hasAll(p.GetSpec().GetTolerations(), old.GetSpec().GetTolerations()) {
		mixed.Tolerations = p.GetSpec().GetTolerations()
	}
	if old.GetSpec().GetTerminationGracePeriodSeconds() < 0 && p.GetSpec().GetTerminationGracePeriodSeconds() == 1 {
		mixed.TerminationGracePeriodSeconds = p.GetSpec().TerminationGracePeriodSeconds
	}
	if old.GetSpec().GetNodeName() == "" {
		mixed.NodeName = p.GetSpec().NodeName // binding sets it once
	}
	if !proto.Equal(mixed, p.GetSpec()) {
		for i, c := range p.GetSpec().GetContainers() {
			if c.GetName() != old.GetSpec().GetContainers()[i].GetName() {
				errs = append(errs, field.Invalid(path.Child("containers").Index(i).Child("name"), c.GetName(), "field is immutable"))
			}
		}
		errs = append(errs, field.Forbidden(path, podUpdateForbidden))
	}
	return errs
}

func hasAll(list, subset []*corev1.Toleration) bool {
	for _, t := range subset {
		if !slices.ContainsFunc(list, func(u *corev1.Toleration) bool { return proto.Equal(t, u) }) {
			return false
		}
	}
	return true
}
