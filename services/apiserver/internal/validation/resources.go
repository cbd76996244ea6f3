package validation

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// validateResources checks a container's limits and requests: known
// resource names, quantities that parse and are not negative, whole
// numbers of extended resources, and requests within limits (equal to
// them for resources that cannot be overcommitted).
func validateResources(r *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	limits := map[string]resource.Quantity{}
	for _, name := range sortedKeys(r.GetLimits()) {
		p := limPath.Key(name)
		errs = append(errs, resourceName(name, p)...)
		if v, err := quantityValue(name, r.GetLimits()[name], p); err != nil {
			errs = append(errs, err)
		} else {
			limits[name] = v
		}
	}
	for _, name := range sortedKeys(r.GetRequests()) {
		p := reqPath.Key(name)
		errs = append(errs, resourceName(name, p)...)
		req, err := quantityValue(name, r.GetRequests()[name], p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lim, ok := limits[name]
		switch {
		case ok && req.Cmp(lim) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		case ok && req.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		case !ok && !overcommitAllowed(name) && r.GetLimits()[name] == nil:
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// quantityValue parses a resource quantity; extended resources come in
// whole units.
func quantityValue(name string, q interface{ GetString_() string }, p *field.Path) (resource.Quantity, *field.Error) {
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return v, field.Invalid(p, q.GetString_(), err.Error())
	}
	if v.Sign() < 0 {
		return v, field.Invalid(p, v.String(), "must be greater than or equal to 0")
	}
	if extendedResource(name) && v.MilliValue()%1000 != 0 {
		return v, field.Invalid(p, v.String(), "must be an integer")
	}
	return v, nil
}

// resourceName checks a container resource name: a standard one (cpu,
// memory, ephemeral-storage, hugepages-<size>) or a domain-qualified
// extended resource.
func resourceName(name string, p *field.Path) field.ErrorList {
	errs := invalid(p, name, validation.IsQualifiedName(name))
	if !strings.Contains(name, "/") {
		switch {
		case name == "cpu", name == "memory", name == "ephemeral-storage", strings.HasPrefix(name, "hugepages-"):
		default:
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !nativeResource(name) && !extendedResource(name) {
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// nativeResource is a resource Kubernetes itself defines: no domain, or a
// kubernetes.io one.
func nativeResource(name string) bool {
	domain, _, ok := strings.Cut(name, "/")
	return !ok || domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io")
}

func extendedResource(name string) bool {
	if nativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+name)) == 0
}

// overcommitAllowed: requests may be below limits only for native
// resources other than huge pages.
func overcommitAllowed(name string) bool {
	return nativeResource(name) && !strings.HasPrefix(name, "hugepages-")
}
