package validation

import (
	"fmt"
	"net"
	"slices"
	"strings"

	k8svalidation "k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	serviceTypes      = []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}
	sessionAffinities = []string{"ClientIP", "None"}
	trafficPolicies   = []string{"Cluster", "Local"}
	ipFamilyPolicies  = []string{"SingleStack", "PreferDualStack", "RequireDualStack"}
	ipFamilies        = []string{"IPv4", "IPv6"}
)

// maxClientIPAffinity is the longest ClientIP session affinity, a day.
const maxClientIPAffinity = 86400

// ValidateService checks a service's type, ports, selector, affinity,
// addresses and traffic policies.
func ValidateService(s *corev1.Service) field.ErrorList {
	sp, p := s.GetSpec(), field.NewPath("spec")
	errs := oneOf(sp.GetType(), serviceTypes, p.Child("type"))
	external := sp.GetType() == "ExternalName"
	if external {
		errs = append(errs, validateExternalName(sp, p)...)
	} else if len(sp.GetPorts()) == 0 && sp.GetClusterIp() != "None" {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	errs = append(errs, validateServicePorts(sp, p.Child("ports"))...)
	errs = append(errs, labels(sp.GetSelector(), p.Child("selector"))...)
	errs = append(errs, validateAffinity(sp, p)...)
	if !external {
		errs = append(errs, validateClusterIP(sp, p)...)
	}
	for i, ip := range sp.GetExternalIps() {
		errs = append(errs, nonSpecialIP(ip, p.Child("externalIPs").Index(i))...)
	}
	errs = append(errs, validateTrafficPolicies(sp, p)...)
	if sp.GetType() != "LoadBalancer" && len(sp.GetLoadBalancerSourceRanges()) > 0 {
		errs = append(errs, field.Forbidden(p.Child("loadBalancerSourceRanges"), "may only be used when `type` is 'LoadBalancer'"))
	}
	for i, r := range sp.GetLoadBalancerSourceRanges() {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(r)); err != nil {
			errs = append(errs, field.Invalid(p.Child("loadBalancerSourceRanges").Index(i), r, "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 "))
		}
	}
	return errs
}

func validateExternalName(sp *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sp.GetClusterIp() != "" {
		errs = append(errs, field.Forbidden(p.Child("clusterIP"), "may not be set for ExternalName services"))
	}
	if len(sp.GetClusterIps()) > 0 {
		errs = append(errs, field.Forbidden(p.Child("clusterIPs"), "may not be set for ExternalName services"))
	}
	if len(sp.GetIpFamilies()) > 0 {
		errs = append(errs, field.Forbidden(p.Child("ipFamilies"), "may not be set for ExternalName services"))
	}
	if sp.IpFamilyPolicy != nil {
		errs = append(errs, field.Forbidden(p.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
	}
	// The name may end in a dot, fully qualified.
	if cname := strings.TrimSuffix(sp.GetExternalName(), "."); cname == "" {
		errs = append(errs, field.Required(p.Child("externalName"), ""))
	} else {
		errs = append(errs, invalid(p.Child("externalName"), cname, k8svalidation.IsDNS1123Subdomain(cname))...)
	}
	return errs
}

func validateServicePorts(sp *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names, ports, nodePorts := map[string]bool{}, map[string]bool{}, map[string]bool{}
	nodePortsAllowed := sp.GetType() == "NodePort" || sp.GetType() == "LoadBalancer"
	for i, port := range sp.GetPorts() {
		p := path.Index(i)
		switch name := port.GetName(); {
		case name == "" && len(sp.GetPorts()) > 1:
			errs = append(errs, field.Required(p.Child("name"), ""))
		case name != "":
			errs = append(errs, invalid(p.Child("name"), name, k8svalidation.IsDNS1123Label(name))...)
			if names[name] {
				errs = append(errs, field.Duplicate(p.Child("name"), name))
			}
			names[name] = true
		}
		errs = append(errs, invalid(p.Child("port"), port.GetPort(), k8svalidation.IsValidPortNum(int(port.GetPort())))...)
		errs = append(errs, oneOf(port.GetProtocol(), protocols, p.Child("protocol"))...)
		if port.GetTargetPort() != nil {
			errs = append(errs, portNumOrName(port.GetTargetPort(), p.Child("targetPort"))...)
		}
		key := fmt.Sprintf("%d/%s", port.GetPort(), port.GetProtocol())
		if ports[key] {
			errs = append(errs, field.Duplicate(p, key))
		}
		ports[key] = true
		if port.GetNodePort() == 0 {
			continue
		}
		if !nodePortsAllowed {
			errs = append(errs, field.Forbidden(p.Child("nodePort"), "may not be used when `type` is '"+sp.GetType()+"'"))
		}
		errs = append(errs, invalid(p.Child("nodePort"), port.GetNodePort(), k8svalidation.IsValidPortNum(int(port.GetNodePort())))...)
		nodeKey := fmt.Sprintf("%d/%s", port.GetNodePort(), port.GetProtocol())
		if nodePorts[nodeKey] {
			errs = append(errs, field.Duplicate(p.Child("nodePort"), port.GetNodePort()))
		}
		nodePorts[nodeKey] = true
	}
	return errs
}

func validateAffinity(sp *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	errs := oneOf(sp.GetSessionAffinity(), sessionAffinities, p.Child("sessionAffinity"))
	switch sp.GetSessionAffinity() {
	case "ClientIP":
		tp := p.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds")
		if c := sp.GetSessionAffinityConfig().GetClientIp(); c == nil || c.TimeoutSeconds == nil {
			errs = append(errs, field.Required(tp, ""))
		} else if t := c.GetTimeoutSeconds(); t <= 0 || t > maxClientIPAffinity {
			errs = append(errs, field.Invalid(tp, t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinity)))
		}
	case "None":
		if sp.GetSessionAffinityConfig() != nil {
			errs = append(errs, field.Invalid(p.Child("sessionAffinityConfig"), sp.GetSessionAffinityConfig().String(), "must not be set when session affinity is None"))
		}
	}
	return errs
}

// validateClusterIP: empty (to be allocated), None (headless, not for
// node ports or load balancers) or an IP address that clusterIPs starts
// with.
func validateClusterIP(sp *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ip := sp.GetClusterIp()
	switch {
	case ip == "None":
		if t := sp.GetType(); t == "NodePort" || t == "LoadBalancer" {
			errs = append(errs, field.Invalid(p.Child("clusterIP"), ip, "may not be set to 'None' for "+t+" services"))
		}
	case ip != "":
		errs = append(errs, fromK8s(k8svalidation.IsValidIPForLegacyField(k8sPath(p.Child("clusterIP")), ip, true, nil))...)
	}
	if ips := sp.GetClusterIps(); len(ips) > 0 && ips[0] != ip {
		errs = append(errs, field.Invalid(p.Child("clusterIPs"), strings.Join(ips, ","), "first value must match `clusterIP`"))
	}
	if sp.IpFamilyPolicy != nil && !slices.Contains(ipFamilyPolicies, sp.GetIpFamilyPolicy()) {
		errs = append(errs, field.NotSupported(p.Child("ipFamilyPolicy"), sp.GetIpFamilyPolicy(), ipFamilyPolicies))
	}
	seen := map[string]bool{}
	for i, f := range sp.GetIpFamilies() {
		fp := p.Child("ipFamilies").Index(i)
		if !slices.Contains(ipFamilies, f) {
			errs = append(errs, field.NotSupported(fp, f, ipFamilies))
		} else if seen[f] {
			errs = append(errs, field.Duplicate(fp, f))
		}
		seen[f] = true
	}
	return errs
}

func validateTrafficPolicies(sp *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	t := sp.GetType()
	external := t == "NodePort" || t == "LoadBalancer" || t == "ClusterIP" && len(sp.GetExternalIps()) > 0
	if etp := sp.GetExternalTrafficPolicy(); etp != "" {
		if !external {
			errs = append(errs, field.Invalid(p.Child("externalTrafficPolicy"), etp, "may only be set for externally-accessible services"))
		} else if !slices.Contains(trafficPolicies, etp) {
			errs = append(errs, field.NotSupported(p.Child("externalTrafficPolicy"), etp, trafficPolicies))
		}
	} else if external {
		errs = append(errs, field.Required(p.Child("externalTrafficPolicy"), ""))
	}
	if t != "ExternalName" {
		errs = append(errs, oneOf(sp.GetInternalTrafficPolicy(), trafficPolicies, p.Child("internalTrafficPolicy"))...)
	}
	return errs
}

// ValidateServiceUpdate keeps the cluster IP once set, unless the service
// becomes or stops being an ExternalName.
func ValidateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	if s.GetSpec().GetType() == "ExternalName" || old.GetSpec().GetType() == "ExternalName" {
		return nil
	}
	if was, now := old.GetSpec().GetClusterIp(), s.GetSpec().GetClusterIp(); was != "" && now != was {
		return field.ErrorList{immutable(field.NewPath("spec", "clusterIP"), now)}
	}
	return nil
}

// ValidateEndpoints checks that each subset has addresses, that addresses
// are ordinary IPs, and that ports are valid and named when several.
func ValidateEndpoints(e *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i, s := range e.GetSubsets() {
		p := field.NewPath("subsets").Index(i)
		if len(s.GetAddresses()) == 0 && len(s.GetNotReadyAddresses()) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range s.GetAddresses() {
			errs = append(errs, validateEndpointAddress(a, p.Child("addresses").Index(j))...)
		}
		for j, a := range s.GetNotReadyAddresses() {
			errs = append(errs, validateEndpointAddress(a, p.Child("notReadyAddresses").Index(j))...)
		}
		names := map[string]bool{}
		for j, port := range s.GetPorts() {
			pp := p.Child("ports").Index(j)
			switch name := port.GetName(); {
			case name == "" && len(s.GetPorts()) > 1:
				errs = append(errs, field.Required(pp.Child("name"), ""))
			case name != "":
				errs = append(errs, invalid(pp.Child("name"), name, k8svalidation.IsDNS1123Label(name))...)
				if names[name] {
					errs = append(errs, field.Duplicate(pp.Child("name"), name))
				}
				names[name] = true
			}
			errs = append(errs, invalid(pp.Child("port"), port.GetPort(), k8svalidation.IsValidPortNum(int(port.GetPort())))...)
			errs = append(errs, oneOf(port.GetProtocol(), protocols, pp.Child("protocol"))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if a.GetIp() == "" {
		errs = append(errs, field.Required(p.Child("ip"), ""))
	} else {
		errs = append(errs, fromK8s(k8svalidation.IsValidIPForLegacyField(k8sPath(p.Child("ip")), a.GetIp(), true, nil))...)
	}
	if h := a.GetHostname(); h != "" {
		errs = append(errs, invalid(p.Child("hostname"), h, k8svalidation.IsDNS1123Label(h))...)
	}
	if a.NodeName != nil {
		errs = append(errs, invalid(p.Child("nodeName"), a.GetNodeName(), k8svalidation.IsDNS1123Subdomain(a.GetNodeName()))...)
	}
	if len(errs) == 0 {
		errs = append(errs, nonSpecialIP(a.GetIp(), p.Child("ip"))...)
	}
	return errs
}

// nonSpecialIP checks an address traffic can be sent to: valid, and not
// unspecified, loopback or link-local.
func nonSpecialIP(s string, p *field.Path) field.ErrorList {
	ip := net.ParseIP(s)
	if ip == nil {
		return field.ErrorList{field.Invalid(p, s, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(p, s, fmt.Sprintf("may not be unspecified (%v)", s)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(p, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, s, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}
