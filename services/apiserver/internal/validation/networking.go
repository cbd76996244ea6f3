package validation

import (
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// IPAddressName checks an IPAddress's name: an IP address in canonical
// form, as Kubernetes requires (no generated names).
func IPAddressName(name string) []string {
	var msgs []string
	for _, e := range validation.IsValidIP(nil, name) {
		msgs = append(msgs, e.Detail)
	}
	return msgs
}

// ValidateIPAddress checks an IPAddress: a parent reference with a
// resource and a name, each a valid path segment, and a group that is a
// DNS subdomain when set (the core group is empty).
func ValidateIPAddress(ip *networkingv1.IPAddress) field.ErrorList {
	p := field.NewPath("spec", "parentRef")
	ref := ip.GetSpec().GetParentRef()
	if ref == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if g := ref.GetGroup(); g != "" {
		errs = append(errs, invalid(p.Child("group"), g, validation.IsDNS1123Subdomain(g))...)
	}
	segment := func(name, v string, required bool) {
		switch {
		case v == "" && required:
			errs = append(errs, field.Required(p.Child(name), ""))
		case v != "":
			errs = append(errs, invalid(p.Child(name), v, content.IsPathSegmentName(v))...)
		}
	}
	segment("resource", ref.GetResource(), true)
	segment("name", ref.GetName(), true)
	segment("namespace", ref.GetNamespace(), false)
	return errs
}

// ValidateIPAddressUpdate keeps the parent reference.
func ValidateIPAddressUpdate(ip, old *networkingv1.IPAddress) field.ErrorList {
	a, b := ip.GetSpec().GetParentRef(), old.GetSpec().GetParentRef()
	if a.GetGroup() != b.GetGroup() || a.GetResource() != b.GetResource() ||
		a.GetNamespace() != b.GetNamespace() || a.GetName() != b.GetName() || (a == nil) != (b == nil) {
		return field.ErrorList{immutable(field.NewPath("spec", "parentRef"), a)}
	}
	return nil
}

// ValidateServiceCIDR checks a ServiceCIDR: one or two CIDRs in canonical
// form, two only of different IP families.
func ValidateServiceCIDR(sc *networkingv1.ServiceCIDR) field.ErrorList {
	return validateCIDRs(sc.GetSpec().GetCidrs(), field.NewPath("spec", "cidrs"))
}

func validateCIDRs(cidrs []string, p *field.Path) field.ErrorList {
	switch {
	case len(cidrs) == 0:
		return field.ErrorList{field.Required(p, "at least one CIDR required")}
	case len(cidrs) > 2:
		return field.ErrorList{field.Invalid(p, cidrs, "may only hold up to 2 values")}
	}
	var errs field.ErrorList
	for i, c := range cidrs {
		for _, e := range validation.IsValidCIDR(nil, c) {
			errs = append(errs, field.Invalid(p.Index(i), c, e.Detail))
		}
	}
	if len(cidrs) == 2 {
		a, errA := netip.ParsePrefix(cidrs[0])
		b, errB := netip.ParsePrefix(cidrs[1])
		if errA == nil && errB == nil && a.Addr().Is4() == b.Addr().Is4() {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
		}
	}
	return errs
}

// ValidateServiceCIDRUpdate keeps the CIDRs; a single-stack range may
// gain the other family's, as Kubernetes allows.
func ValidateServiceCIDRUpdate(sc, old *networkingv1.ServiceCIDR) field.ErrorList {
	now, was := sc.GetSpec().GetCidrs(), old.GetSpec().GetCidrs()
	p := field.NewPath("spec", "cidrs")
	switch {
	case len(now) == len(was):
		var errs field.ErrorList
		for i := range was {
			if now[i] != was[i] {
				errs = append(errs, immutable(p.Index(i), now[i]))
			}
		}
		return errs
	case len(was) == 1 && len(now) == 2:
		if now[0] != was[0] {
			return field.ErrorList{immutable(p.Index(0), now[0])}
		}
		return nil // the new pair is checked by ValidateServiceCIDR
	default:
		return field.ErrorList{immutable(p, slices.Clone(now))}
	}
}
