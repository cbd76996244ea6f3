package validation

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	pullPolicies       = []string{"Always", "IfNotPresent", "Never"}
	protocols          = []string{"SCTP", "TCP", "UDP"}
	mountPropagations  = []string{"Bidirectional", "HostToContainer", "None"}
	terminationMessage = "must be 'File' or 'FallbackToLogsOnError'"
)

// validateContainers checks the containers and then the init containers
// of a spec; a name may be used once across both.
func validateContainers(s *corev1.PodSpec, path *field.Path, volumes map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if len(s.GetContainers()) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), "must have at least one container"))
	}
	names := map[string]bool{}
	for i, c := range s.GetContainers() {
		p := path.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, p, names, volumes)...)
		errs = append(errs, validateProbesAndHooks(c, p)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	for i, c := range s.GetInitContainers() {
		p := path.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, p, names, volumes)...)
		if c.RestartPolicy != nil {
			errs = append(errs, oneOf(c.GetRestartPolicy(), []string{"Always"}, p.Child("restartPolicy"))...)
		}
		if c.GetRestartPolicy() == "Always" { // a sidecar
			errs = append(errs, validateProbesAndHooks(c, p)...)
			continue
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"lifecycle", c.Lifecycle != nil}, {"livenessProbe", c.LivenessProbe != nil},
			{"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil}} {
			if f.set {
				errs = append(errs, field.Forbidden(p.Child(f.name), "may not be set for init containers without restartPolicy=Always"))
			}
		}
	}
	errs = append(errs, validateHostPorts(s, path)...)
	return errs
}

// uniqueContainerName checks a container's name: a DNS label no other
// container of the pod (in names, which it adds to) has.
func uniqueContainerName(name string, p *field.Path, names map[string]bool) field.ErrorList {
	defer func() { names[name] = true }()
	switch {
	case name == "":
		return field.ErrorList{field.Required(p, "")}
	case names[name]:
		return field.ErrorList{field.Duplicate(p, name)}
	}
	return invalid(p, name, validation.IsDNS1123Label(name))
}

func validateContainer(c *corev1.Container, p *field.Path, names, volumes map[string]bool) field.ErrorList {
	errs := uniqueContainerName(c.GetName(), p.Child("name"), names)
	if c.GetImage() == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	} else if c.GetImage() != strings.TrimSpace(c.GetImage()) {
		errs = append(errs, field.Invalid(p.Child("image"), c.GetImage(), "must not have leading or trailing whitespace"))
	}
	errs = append(errs, oneOf(c.GetImagePullPolicy(), pullPolicies, p.Child("imagePullPolicy"))...)
	switch c.GetTerminationMessagePolicy() {
	case "File", "FallbackToLogsOnError":
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), terminationMessage))
	default:
		errs = append(errs, field.Invalid(p.Child("terminationMessagePolicy"), c.GetTerminationMessagePolicy(), terminationMessage))
	}
	errs = append(errs, validateContainerPorts(c.GetPorts(), p.Child("ports"))...)
	errs = append(errs, validateEnv(c.GetEnv(), p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.GetEnvFrom(), p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c, volumes, p.Child("volumeMounts"))...)
	errs = append(errs, validateResources(c.GetResources(), p.Child("resources"))...)
	if sc := c.GetSecurityContext(); sc != nil {
		errs = append(errs, validateIDs(sc.RunAsUser, sc.RunAsGroup, p.Child("securityContext"))...)
		if sc.GetPrivileged() && sc.AllowPrivilegeEscalation != nil && !sc.GetAllowPrivilegeEscalation() {
			errs = append(errs, field.Invalid(p.Child("securityContext"), "", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		errs = append(errs, validateSeccompProfile(sc.GetSeccompProfile(), p.Child("securityContext", "seccompProfile"))...)
	}
	return errs
}

func validateContainerPorts(ports []*corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		p := path.Index(i)
		if port.GetName() != "" {
			if msgs := validation.IsValidPortName(port.GetName()); len(msgs) > 0 {
				errs = append(errs, invalid(p.Child("name"), port.GetName(), msgs)...)
			} else if names[port.GetName()] {
				errs = append(errs, field.Duplicate(p.Child("name"), port.GetName()))
			} else {
				names[port.GetName()] = true
			}
		}
		if port.GetContainerPort() == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalid(p.Child("containerPort"), port.GetContainerPort(), validation.IsValidPortNum(int(port.GetContainerPort())))...)
		}
		if port.GetHostPort() != 0 {
			errs = append(errs, invalid(p.Child("hostPort"), port.GetHostPort(), validation.IsValidPortNum(int(port.GetHostPort())))...)
		}
		errs = append(errs, oneOf(port.GetProtocol(), protocols, p.Child("protocol"))...)
	}
	return errs
}

// validateHostPorts checks that no two containers take the same host port,
// and that on the host network a container listens on its host port.
func validateHostPorts(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for _, list := range []struct {
		name string
		cs   []*corev1.Container
	}{{"containers", s.GetContainers()}, {"initContainers", s.GetInitContainers()}} {
		for i, c := range list.cs {
			for j, port := range c.GetPorts() {
				p := path.Child(list.name).Index(i).Child("ports").Index(j)
				if s.GetHostNetwork() && port.GetHostPort() != port.GetContainerPort() {
					errs = append(errs, field.Invalid(p.Child("containerPort"), port.GetContainerPort(), "must match `hostPort` when `hostNetwork` is true"))
				}
				if port.GetHostPort() == 0 {
					continue
				}
				key := fmt.Sprintf("%s/%s/%d", port.GetHostIp(), port.GetProtocol(), port.GetHostPort())
				if seen[key] {
					errs = append(errs, field.Duplicate(p.Child("hostPort"), key))
				}
				seen[key] = true
			}
		}
	}
	return errs
}

func validateVolumeMounts(c *corev1.Container, volumes map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range c.GetVolumeMounts() {
		p := path.Index(i)
		if m.GetName() == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !volumes[m.GetName()] {
			errs = append(errs, field.NotFound(p.Child("name"), m.GetName()))
		}
		if m.GetMountPath() == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		} else if paths[m.GetMountPath()] {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.GetMountPath(), "must be unique"))
		}
		paths[m.GetMountPath()] = true
		if m.GetSubPath() != "" {
			errs = append(errs, localDescendingPath(m.GetSubPath(), p.Child("subPath"))...)
		}
		if m.GetSubPathExpr() != "" {
			if m.GetSubPath() != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.GetSubPathExpr(), "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, localDescendingPath(m.GetSubPathExpr(), p.Child("subPathExpr"))...)
		}
		errs = append(errs, validateMountPropagation(m, c, p.Child("mountPropagation"))...)
	}
	return errs
}

// validateMountPropagation checks a mount's propagation: one of
// Kubernetes' three, and Bidirectional only in a privileged container.
func validateMountPropagation(m *corev1.VolumeMount, c *corev1.Container, p *field.Path) field.ErrorList {
	if m.MountPropagation == nil {
		return nil
	}
	var errs field.ErrorList
	if !slices.Contains(mountPropagations, m.GetMountPropagation()) {
		errs = append(errs, field.NotSupported(p, m.GetMountPropagation(), mountPropagations))
	}
	if m.GetMountPropagation() == "Bidirectional" && !c.GetSecurityContext().GetPrivileged() {
		errs = append(errs, field.Forbidden(p, "Bidirectional mount propagation is available only to privileged containers"))
	}
	return errs
}

// localDescendingPath checks a path that must stay below its root.
func localDescendingPath(target string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(target, "/") {
		errs = append(errs, field.Invalid(p, target, "must be a relative path"))
	}
	errs = append(errs, noBacksteps(target, p)...)
	return errs
}

func noBacksteps(target string, p *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(target, "/"), "..") {
		return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
	}
	return nil
}

// portNumOrName checks a port given by number or by name.
func portNumOrName(port *metav1.IntOrString, p *field.Path) field.ErrorList {
	if port.GetType() == 1 {
		return invalid(p, port.GetStrVal(), validation.IsValidPortName(port.GetStrVal()))
	}
	return invalid(p, port.GetIntVal(), validation.IsValidPortNum(int(port.GetIntVal())))
}
