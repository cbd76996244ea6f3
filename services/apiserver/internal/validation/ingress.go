package validation

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
	netutils "k8s.io/utils/net"

	corev1 "skiff.dev/api/core/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// ingressClassAnnotation is the class annotation that came before
// spec.ingressClassName.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

var (
	pathTypes           = []string{"Exact", "ImplementationSpecific", "Prefix"}
	badPathSequences    = []string{"//", "/./", "/../", "%2f", "%2F"}
	badPathSuffixes     = []string{"/..", "/."}
	parameterScopes     = []string{"Cluster", "Namespace"}
	maxControllerLength = 250
)

// ingressOptions are the leniencies an update keeps for what the stored
// Ingress already holds: TLS secret names that are not valid names, and
// wildcard-host rules whose paths would not pass.
type ingressOptions struct {
	allowInvalidSecretName, allowInvalidWildcardRule bool
}

// ValidateIngressCreate checks a new Ingress: its spec, and a class
// annotation that agrees with spec.ingressClassName when both are set.
func ValidateIngressCreate(ing *networkingv1.Ingress) field.ErrorList {
	errs := ingressSpec(ing.GetSpec(), ingressOptions{}, field.NewPath("spec"))
	v, ok := ing.GetMetadata().GetAnnotations()[ingressClassAnnotation]
	if ok && hasClassName(ing.GetSpec()) && v != ing.GetSpec().GetIngressClassName() {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v,
			"must match `ingressClassName` when both are specified"))
	}
	return errs
}

// ValidateIngressUpdate checks a changed Ingress's spec, keeping the
// stored object's leniencies.
func ValidateIngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	opts := ingressOptions{allowInvalidSecretName: hasInvalidSecretName(old), allowInvalidWildcardRule: hasInvalidWildcardRule(old)}
	return ingressSpec(ing.GetSpec(), opts, field.NewPath("spec"))
}

func hasInvalidSecretName(ing *networkingv1.Ingress) bool {
	for _, t := range ing.GetSpec().GetTls() {
		if t.GetSecretName() != "" && len(validation.IsDNS1123Subdomain(t.GetSecretName())) > 0 {
			return true
		}
	}
	return false
}

func hasInvalidWildcardRule(ing *networkingv1.Ingress) bool {
	for _, r := range ing.GetSpec().GetRules() {
		if strings.Contains(r.GetHost(), "*") && len(ingressRuleValue(r.GetIngressRuleValue(), field.NewPath(""))) > 0 {
			return true
		}
	}
	return false
}

func ingressSpec(sp *networkingv1.IngressSpec, opts ingressOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(sp.GetRules()) == 0 && sp.GetDefaultBackend() == nil {
		errs = append(errs, field.Invalid(p, jsonValue{sp.GetRules()}, "either `defaultBackend` or `rules` must be specified"))
	}
	if b := sp.GetDefaultBackend(); b != nil {
		errs = append(errs, ingressBackend(b, p.Child("defaultBackend"))...)
	}
	for i, r := range sp.GetRules() {
		errs = append(errs, ingressRule(r, opts, p.Child("rules").Index(i))...)
	}
	for i, t := range sp.GetTls() {
		errs = append(errs, ingressTLS(t, opts, p.Child("tls").Index(i))...)
	}
	if hasClassName(sp) {
		errs = append(errs, invalid(p.Child("ingressClassName"), sp.GetIngressClassName(), validation.IsDNS1123Subdomain(sp.GetIngressClassName()))...)
	}
	return errs
}

// hasClassName says whether spec.ingressClassName is set (to "" too).
func hasClassName(sp *networkingv1.IngressSpec) bool {
	return sp != nil && sp.IngressClassName != nil
}

func ingressTLS(t *networkingv1.IngressTLS, opts ingressOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, h := range t.GetHosts() {
		errs = append(errs, invalid(p.Child("hosts").Index(i), h, hostName(h))...)
	}
	if s := t.GetSecretName(); s != "" && !opts.allowInvalidSecretName {
		errs = append(errs, invalid(p.Child("secretName"), s, validation.IsDNS1123Subdomain(s))...)
	}
	return errs
}

// hostName checks a host name that may start with a "*." wildcard.
func hostName(h string) []string {
	if strings.Contains(h, "*") {
		return validation.IsWildcardDNS1123Subdomain(h)
	}
	return validation.IsDNS1123Subdomain(h)
}

func ingressRule(r *networkingv1.IngressRule, opts ingressOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	h := r.GetHost()
	if h != "" {
		if netutils.ParseIPSloppy(h) != nil {
			errs = append(errs, field.Invalid(p.Child("host"), h, "must be a DNS name, not an IP address"))
		}
		errs = append(errs, invalid(p.Child("host"), h, hostName(h))...)
	}
	if !strings.Contains(h, "*") || !opts.allowInvalidWildcardRule {
		errs = append(errs, ingressRuleValue(r.GetIngressRuleValue(), p)...)
	}
	return errs
}

func ingressRuleValue(v *networkingv1.IngressRuleValue, p *field.Path) field.ErrorList {
	http := v.GetHttp()
	if http == nil {
		return nil
	}
	hp := p.Child("http")
	var errs field.ErrorList
	if len(http.GetPaths()) == 0 {
		errs = append(errs, field.Required(hp.Child("paths"), ""))
	}
	for i, path := range http.GetPaths() {
		errs = append(errs, ingressPath(path, hp.Child("paths").Index(i))...)
	}
	return errs
}

// ingressPath checks a path against its type: Exact and Prefix paths are
// absolute and clean, an ImplementationSpecific one absolute when set.
func ingressPath(path *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	v := path.GetPath()
	switch path.GetPathType() {
	case "Exact", "Prefix":
		errs = append(errs, cleanPath(v, p.Child("path"))...)
	case "ImplementationSpecific":
		if v != "" && !strings.HasPrefix(v, "/") {
			errs = append(errs, field.Invalid(p.Child("path"), v, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("pathType"), path.GetPathType(), pathTypes))
	}
	return append(errs, ingressBackend(path.GetBackend(), p.Child("backend"))...)
}

func cleanPath(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !strings.HasPrefix(v, "/") {
		errs = append(errs, field.Invalid(p, v, "must be an absolute path"))
	}
	for _, seq := range badPathSequences {
		if strings.Contains(v, seq) {
			errs = append(errs, field.Invalid(p, v, fmt.Sprintf("must not contain '%s'", seq)))
		}
	}
	for _, suffix := range badPathSuffixes {
		if strings.HasSuffix(v, suffix) {
			errs = append(errs, field.Invalid(p, v, fmt.Sprintf("cannot end with '%s'", suffix)))
		}
	}
	return errs
}

// ingressBackend checks a backend: a resource or a Service (a DNS-1035
// name and a port by name or number), exactly one of them.
func ingressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	switch {
	case b.GetResource() != nil && b.GetService() != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.GetResource() != nil:
		return typedLocalReference(b.GetResource(), p.Child("resource"))
	case b.GetService() != nil:
		return serviceBackend(b.GetService(), p)
	}
	return field.ErrorList{field.Invalid(p, "", "resource or service backend is required")}
}

func serviceBackend(svc *networkingv1.IngressServiceBackend, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("service")
	if name := svc.GetName(); name == "" {
		errs = append(errs, field.Required(sp.Child("name"), ""))
	} else {
		errs = append(errs, invalid(sp.Child("name"), name, validation.IsDNS1035Label(name))...)
	}
	name, number := svc.GetPort().GetName(), svc.GetPort().GetNumber()
	switch {
	case name != "" && number != 0:
		errs = append(errs, field.Invalid(p, "", "cannot set both port name & port number"))
	case name != "":
		errs = append(errs, invalid(sp.Child("port", "name"), name, validation.IsValidPortName(name))...)
	case number != 0:
		errs = append(errs, invalid(sp.Child("port", "number"), number, validation.IsValidPortNum(int(number)))...)
	default:
		errs = append(errs, field.Required(p, "port name or number is required"))
	}
	return errs
}

// typedLocalReference checks a reference by kind and name, each a path
// segment, with a DNS-subdomain API group when set.
func typedLocalReference(ref *corev1.TypedLocalObjectReference, p *field.Path) field.ErrorList {
	return objectReference(ref.ApiGroup, ref.GetKind(), ref.GetName(), p)
}

func objectReference(group *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if group != nil {
		errs = append(errs, invalid(p.Child("apiGroup"), *group, validation.IsDNS1123Subdomain(*group))...)
	}
	segment := func(child, v string) {
		if v == "" {
			errs = append(errs, field.Required(p.Child(child), ""))
			return
		}
		errs = append(errs, invalid(p.Child(child), v, content.IsPathSegmentName(v))...)
	}
	segment("kind", kind)
	segment("name", name)
	return errs
}

// ValidateIngressStatusUpdate checks the load balancer's ingress points:
// IPs (those the stored status had pass as they are) and host names that
// are DNS names.
func ValidateIngressStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	var known []string
	for _, in := range old.GetStatus().GetLoadBalancer().GetIngress() {
		if in.GetIp() != "" {
			known = append(known, in.GetIp())
		}
	}
	p := field.NewPath("status", "loadBalancer", "ingress")
	var errs field.ErrorList
	for i, in := range ing.GetStatus().GetLoadBalancer().GetIngress() {
		ip := p.Index(i)
		if in.GetIp() != "" {
			errs = append(errs, fromK8s(validation.IsValidIPForLegacyField(k8sPath(ip.Child("ip")), in.GetIp(), false, known))...)
		}
		if h := in.GetHostname(); h != "" {
			errs = append(errs, invalid(ip.Child("hostname"), h, validation.IsDNS1123Subdomain(h))...)
			if netutils.ParseIPSloppy(h) != nil {
				errs = append(errs, field.Invalid(ip.Child("hostname"), h, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// ValidateIngressClass checks an IngressClass: a domain-prefixed
// controller name of at most 250 characters, and its parameters.
func ValidateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	p := field.NewPath("spec")
	var errs field.ErrorList
	c := ic.GetSpec().GetController()
	if len(c) > maxControllerLength {
		errs = append(errs, field.TooLong(p.Child("controller"), maxControllerLength))
	}
	errs = append(errs, fromK8s(validation.IsDomainPrefixedPath(k8sPath(p.Child("controller")), c))...)
	if params := ic.GetSpec().GetParameters(); params != nil {
		errs = append(errs, classParameters(params, p.Child("parameters"))...)
	}
	return errs
}

// classParameters checks the parameters reference: a scope, and a
// namespace exactly when the scope is Namespace.
func classParameters(ref *networkingv1.IngressClassParametersReference, p *field.Path) field.ErrorList {
	errs := objectReference(ref.ApiGroup, ref.GetKind(), ref.GetName(), p)
	if ref.Scope == nil {
		return append(errs, field.Required(p.Child("scope"), ""))
	}
	switch ref.GetScope() {
	case "Namespace":
		if ref.Namespace == nil {
			errs = append(errs, field.Required(p.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, invalid(p.Child("namespace"), ref.GetNamespace(), validation.IsDNS1123Label(ref.GetNamespace()))...)
		}
	case "Cluster":
		if ref.Namespace != nil {
			errs = append(errs, field.Forbidden(p.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("scope"), ref.GetScope(), parameterScopes))
	}
	return errs
}

// ValidateIngressClassUpdate keeps the controller.
func ValidateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	if c := ic.GetSpec().GetController(); c != old.GetSpec().GetController() {
		return field.ErrorList{immutable(field.NewPath("spec", "controller"), c)}
	}
	return nil
}
