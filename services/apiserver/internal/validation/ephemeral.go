package validation

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// ValidatePodCreate checks what only a new pod must not have: ephemeral
// containers are added to running pods, through pods/ephemeralcontainers.
func ValidatePodCreate(p *corev1.Pod) field.ErrorList {
	if len(p.GetSpec().GetEphemeralContainers()) > 0 {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create")}
	}
	return nil
}

// validateEphemeralContainers checks a pod's ephemeral containers as
// Kubernetes does: a unique name among all the pod's containers, an
// image, no ports, probes, lifecycle hooks or resources (they never
// restart and get no guarantees), and a target container that exists.
func validateEphemeralContainers(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range append(append([]*corev1.Container{}, s.GetContainers()...), s.GetInitContainers()...) {
		names[c.GetName()] = true
	}
	for i, ec := range s.GetEphemeralContainers() {
		p := path.Child("ephemeralContainers").Index(i)
		c := ec.GetEphemeralContainerCommon()
		errs = append(errs, uniqueContainerName(c.GetName(), p.Child("name"), names)...)
		if c.GetImage() == "" {
			errs = append(errs, field.Required(p.Child("image"), ""))
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"ports", len(c.GetPorts()) > 0}, {"livenessProbe", c.LivenessProbe != nil}, {"readinessProbe", c.ReadinessProbe != nil},
			{"startupProbe", c.StartupProbe != nil}, {"lifecycle", c.Lifecycle != nil}, {"restartPolicy", c.RestartPolicy != nil},
			{"resources", len(c.GetResources().GetLimits())+len(c.GetResources().GetRequests()) > 0}} {
			if f.set {
				errs = append(errs, field.Forbidden(p.Child(f.name), "cannot be set for an Ephemeral Container"))
			}
		}
		if t := ec.GetTargetContainerName(); t != "" && !isPodContainer(s, t) {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), t))
		}
	}
	return errs
}

func isPodContainer(s *corev1.PodSpec, name string) bool {
	for _, c := range append(append([]*corev1.Container{}, s.GetContainers()...), s.GetInitContainers()...) {
		if c.GetName() == name {
			return true
		}
	}
	return false
}

// ephemeralKept: ephemeral containers are only ever added; the ones the
// pod has may neither change nor go.
func ephemeralKept(now, was []*corev1.EphemeralContainer, p *field.Path) field.ErrorList {
	byName := map[string]*corev1.EphemeralContainer{}
	for _, ec := range now {
		byName[ec.GetEphemeralContainerCommon().GetName()] = ec
	}
	var errs field.ErrorList
	for _, old := range was {
		name := old.GetEphemeralContainerCommon().GetName()
		switch ec, ok := byName[name]; {
		case !ok:
			errs = append(errs, field.Forbidden(p, "existing ephemeral containers \""+name+"\" may not be removed"))
		case !proto.Equal(ec, old):
			errs = append(errs, field.Forbidden(p, "existing ephemeral containers \""+name+"\" may not be changed"))
		}
	}
	return errs
}
