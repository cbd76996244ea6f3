package validation

import (
	"fmt"
	"net"

	k8svalidation "k8s.io/apimachinery/pkg/util/validation"

	discoveryv1 "skiff.dev/api/discovery/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var addressTypes = []string{"FQDN", "IPv4", "IPv6"}

// Kubernetes' limits on an EndpointSlice.
const (
	maxEndpoints         = 1000
	maxAddresses         = 100
	maxEndpointSlicePort = 100
)

// ValidateEndpointSlice checks the address type, the addresses against
// it, and the ports.
func ValidateEndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, oneOf(s.GetAddressType(), addressTypes, field.NewPath("addressType"))...)
	ep := field.NewPath("endpoints")
	if len(s.GetEndpoints()) > maxEndpoints {
		errs = append(errs, field.Invalid(ep, len(s.GetEndpoints()), fmt.Sprintf("must have at most %d items", maxEndpoints)))
	}
	for i, e := range s.GetEndpoints() {
		p := ep.Index(i).Child("addresses")
		switch n := len(e.GetAddresses()); {
		case n == 0:
			errs = append(errs, field.Required(p, "must contain at least 1 address"))
		case n > maxAddresses:
			errs = append(errs, field.Invalid(p, n, fmt.Sprintf("must have at most %d items", maxAddresses)))
		}
		for j, a := range e.GetAddresses() {
			errs = append(errs, validateSliceAddress(s.GetAddressType(), a, p.Index(j))...)
		}
		if h := e.GetHostname(); h != "" {
			errs = append(errs, invalid(ep.Index(i).Child("hostname"), h, k8svalidation.IsDNS1123Label(h))...)
		}
	}
	pp := field.NewPath("ports")
	if len(s.GetPorts()) > maxEndpointSlicePort {
		errs = append(errs, field.Invalid(pp, len(s.GetPorts()), fmt.Sprintf("must have at most %d items", maxEndpointSlicePort)))
	}
	names := map[string]bool{}
	for i, port := range s.GetPorts() {
		p := pp.Index(i)
		name := port.GetName()
		if name != "" {
			errs = append(errs, invalid(p.Child("name"), name, k8svalidation.IsDNS1123Label(name))...)
		}
		if names[name] {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names[name] = true
		if port.Port != nil {
			errs = append(errs, invalid(p.Child("port"), port.GetPort(), k8svalidation.IsValidPortNum(int(port.GetPort())))...)
		}
		errs = append(errs, oneOf(port.GetProtocol(), protocols, p.Child("protocol"))...)
	}
	return errs
}

func validateSliceAddress(addressType, a string, p *field.Path) field.ErrorList {
	ip := net.ParseIP(a)
	switch addressType {
	case "IPv4":
		if ip == nil || ip.To4() == nil {
			return field.ErrorList{field.Invalid(p, a, "must be a valid IPv4 address")}
		}
	case "IPv6":
		if ip == nil || ip.To4() != nil {
			return field.ErrorList{field.Invalid(p, a, "must be a valid IPv6 address")}
		}
	case "FQDN":
		if errs := k8svalidation.IsFullyQualifiedDomainName(nil, a); len(errs) > 0 {
			return field.ErrorList{field.Invalid(p, a, errs[0].Detail)}
		}
	}
	return nil
}

// ValidateEndpointSliceUpdate keeps the address type.
func ValidateEndpointSliceUpdate(s, old *discoveryv1.EndpointSlice) field.ErrorList {
	if s.GetAddressType() == old.GetAddressType() {
		return nil
	}
	return field.ErrorList{immutable(field.NewPath("addressType"), s.GetAddressType())}
}
