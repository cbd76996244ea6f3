package validation

import (
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	// envFieldPaths are the pod fields an environment variable may read.
	envFieldPaths = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
		"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	// volumeFieldPaths are the pod fields a downward API file may hold.
	volumeFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}
	// resourceFields are the container resources the downward API exposes.
	resourceFields = []string{"limits.cpu", "limits.ephemeral-storage", "limits.memory",
		"requests.cpu", "requests.ephemeral-storage", "requests.memory"}
	subscripted = regexp.MustCompile(`^(metadata\.(?:labels|annotations))\['(.*)'\]$`)
)

func validateEnv(env []*corev1.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range env {
		p := path.Index(i)
		if e.GetName() == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, invalid(p.Child("name"), e.GetName(), validation.IsRelaxedEnvVarName(e.GetName()))...)
		}
		if e.ValueFrom != nil {
			errs = append(errs, validateEnvSource(e, p.Child("valueFrom"))...)
		}
	}
	return errs
}

func validateEnvSource(e *corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	src := e.GetValueFrom()
	n := 0
	if f := src.GetFieldRef(); f != nil {
		n++
		errs = append(errs, validateFieldRef(f, envFieldPaths, p.Child("fieldRef"))...)
	}
	if r := src.GetResourceFieldRef(); r != nil {
		n++
		errs = append(errs, validateResourceFieldRef(r, p.Child("resourceFieldRef"), false)...)
	}
	if r := src.GetConfigMapKeyRef(); r != nil {
		n++
		errs = append(errs, keySelector(r.GetLocalObjectReference().GetName(), r.GetKey(), p.Child("configMapKeyRef"))...)
	}
	if r := src.GetSecretKeyRef(); r != nil {
		n++
		errs = append(errs, keySelector(r.GetLocalObjectReference().GetName(), r.GetKey(), p.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	case e.GetValue() != "":
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	}
	return errs
}

// validateFieldRef checks a downward API field reference against the
// fields the consumer supports; labels and annotations may be read one key
// at a time.
func validateFieldRef(f *corev1.ObjectFieldSelector, supported []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.GetApiVersion() == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	} else if f.GetApiVersion() != "v1" {
		errs = append(errs, field.Invalid(p.Child("apiVersion"), f.GetApiVersion(), "must be v1"))
	}
	fp := f.GetFieldPath()
	switch m := subscripted.FindStringSubmatch(fp); {
	case fp == "":
		errs = append(errs, field.Required(p.Child("fieldPath"), ""))
	case m != nil:
		key := m[2]
		if m[1] == "metadata.annotations" {
			key = strings.ToLower(key)
		}
		errs = append(errs, invalid(p.Child("fieldPath"), key, validation.IsQualifiedName(key))...)
	case !slices.Contains(supported, fp):
		errs = append(errs, field.NotSupported(p.Child("fieldPath"), fp, supported))
	}
	return errs
}

// validateResourceFieldRef checks a downward API reference to a
// container's request or limit. A volume file must name its container; an
// environment variable reads its own container by default.
func validateResourceFieldRef(r *corev1.ResourceFieldSelector, p *field.Path, volume bool) field.ErrorList {
	res := r.GetResource()
	switch {
	case volume && r.GetContainerName() == "":
		return field.ErrorList{field.Required(p.Child("containerName"), "")}
	case res == "":
		return field.ErrorList{field.Required(p.Child("resource"), "")}
	case slices.Contains(resourceFields, res), strings.HasPrefix(res, "limits.hugepages-"), strings.HasPrefix(res, "requests.hugepages-"):
	default:
		return field.ErrorList{field.NotSupported(p.Child("resource"), res, resourceFields)}
	}
	if r.Divisor == nil {
		return nil
	}
	d, err := quantity(r.GetDivisor(), p.Child("divisor"))
	if err != nil {
		return field.ErrorList{err}
	}
	return validateDivisor(res, d, p.Child("divisor"))
}

// Divisors Kubernetes accepts: whole cores or millicores for cpu, one byte
// or one of each unit for the other resources.
var (
	cpuDivisors  = []string{"1m", "1"}
	byteDivisors = []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
)

// validateDivisor checks a set divisor (zero means unset, that is 1)
// against the resource it divides, with Kubernetes' messages.
func validateDivisor(res string, d resource.Quantity, p *field.Path) field.ErrorList {
	if d.IsZero() {
		return nil
	}
	allowed, name := byteDivisors, "hugepages"
	switch res {
	case "limits.cpu", "requests.cpu":
		allowed, name = cpuDivisors, "cpu"
	case "limits.memory", "requests.memory":
		name = "memory"
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		name = "local ephemeral storage"
	}
	if slices.Contains(allowed, d.String()) {
		return nil
	}
	values := strings.Join(allowed, ", ")
	if len(allowed) == 2 {
		values = allowed[0] + " and " + allowed[1]
	}
	return field.ErrorList{field.Invalid(p, res, "only divisor's values "+values+" are supported with the "+name+" resource")}
}

// keySelector checks a reference to one key of a ConfigMap or Secret.
func keySelector(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, invalid(p.Child("name"), name, validation.IsDNS1123Subdomain(name))...)
	}
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		errs = append(errs, invalid(p.Child("key"), key, validation.IsConfigMapKey(key))...)
	}
	return errs
}

func validateEnvFrom(from []*corev1.EnvFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range from {
		p := path.Index(i)
		if f.GetPrefix() != "" {
			errs = append(errs, invalid(p.Child("prefix"), f.GetPrefix(), validation.IsRelaxedEnvVarName(f.GetPrefix()))...)
		}
		n := 0
		for _, ref := range []struct {
			name string
			set  bool
			ref  string
		}{{"configMapRef", f.ConfigMapRef != nil, f.GetConfigMapRef().GetLocalObjectReference().GetName()},
			{"secretRef", f.SecretRef != nil, f.GetSecretRef().GetLocalObjectReference().GetName()}} {
			if !ref.set {
				continue
			}
			n++
			if ref.ref == "" {
				errs = append(errs, field.Required(p.Child(ref.name, "name"), ""))
			} else {
				errs = append(errs, invalid(p.Child(ref.name, "name"), ref.ref, validation.IsDNS1123Subdomain(ref.ref))...)
			}
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}
