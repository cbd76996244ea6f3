package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/defaults"
)

func serviceBackendOf(name string, port int32) *networkingv1.IngressBackend {
	return &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name,
		Port: &networkingv1.ServiceBackendPort{Number: port}}}
}

func validIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &networkingv1.IngressSpec{
		IngressClassName: proto.String("nginx"),
		Tls:              []*networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "example-tls"}},
		Rules: []*networkingv1.IngressRule{{Host: "www.example.com", IngressRuleValue: &networkingv1.IngressRuleValue{
			Http: &networkingv1.HTTPIngressRuleValue{Paths: []*networkingv1.HTTPIngressPath{
				{Path: "/", PathType: proto.String("Prefix"), Backend: serviceBackendOf("web", 80)},
				{Path: "/api", PathType: proto.String("Exact"), Backend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "api", Port: &networkingv1.ServiceBackendPort{Name: "http"}}}},
			}}}}},
	}}
}

func TestValidateIngress(t *testing.T) {
	expectMessages(t, ValidateIngressCreate(validIngress()))
	path := func(ing *networkingv1.Ingress, i int) *networkingv1.HTTPIngressPath {
		return ing.Spec.Rules[0].IngressRuleValue.Http.Paths[i]
	}
	tests := []struct {
		name   string
		change func(*networkingv1.Ingress)
		want   []string
	}{
		{"neither rules nor default backend", func(ing *networkingv1.Ingress) { ing.Spec.Rules = nil },
			[]string{"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"}},
		{"default backend alone", func(ing *networkingv1.Ingress) {
			ing.Spec.Rules, ing.Spec.DefaultBackend = nil, serviceBackendOf("web", 8080)
		}, nil},
		{"resource backend", func(ing *networkingv1.Ingress) {
			path(ing, 0).Backend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
				ApiGroup: proto.String("k8s.example.com"), Kind: "StorageBucket", Name: "static-assets"}}
		}, nil},
		{"both backends", func(ing *networkingv1.Ingress) {
			path(ing, 0).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}
		}, []string{`spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends`}},
		{"no backend", func(ing *networkingv1.Ingress) { path(ing, 0).Backend = nil },
			[]string{`spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required`}},
		{"resource without kind", func(ing *networkingv1.Ingress) {
			path(ing, 0).Backend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Name: "b"}}
		}, []string{`spec.rules[0].http.paths[0].backend.resource.kind: Required value`}},
		{"service name", func(ing *networkingv1.Ingress) { path(ing, 0).Backend.Service.Name = "1web" },
			[]string{`spec.rules[0].http.paths[0].backend.service.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`}},
		{"no service name", func(ing *networkingv1.Ingress) { path(ing, 0).Backend.Service.Name = "" },
			[]string{`spec.rules[0].http.paths[0].backend.service.name: Required value`}},
		{"port name and number", func(ing *networkingv1.Ingress) { path(ing, 0).Backend.Service.Port.Name = "http" },
			[]string{`spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number`}},
		{"no port", func(ing *networkingv1.Ingress) { path(ing, 0).Backend.Service.Port = nil },
			[]string{`spec.rules[0].http.paths[0].backend: Required value: port name or number is required`}},
		{"port number", func(ing *networkingv1.Ingress) { path(ing, 0).Backend.Service.Port.Number = 65536 },
			[]string{`spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 65536: must be between 1 and 65535, inclusive`}},
		{"port name", func(ing *networkingv1.Ingress) { path(ing, 1).Backend.Service.Port.Name = "http-is-far-too-long" },
			[]string{`spec.rules[0].http.paths[1].backend.service.port.name: Invalid value: "http-is-far-too-long": must be no more than 15 characters`}},
		{"no path type", func(ing *networkingv1.Ingress) { path(ing, 0).PathType = nil },
			[]string{`spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified`}},
		{"path type", func(ing *networkingv1.Ingress) { path(ing, 0).PathType = proto.String("Regex") },
			[]string{`spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"`}},
		{"relative path", func(ing *networkingv1.Ingress) { path(ing, 0).Path = "api" },
			[]string{`spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path`}},
		{"dot segments", func(ing *networkingv1.Ingress) { path(ing, 1).Path = "/a/../b/." },
			[]string{`spec.rules[0].http.paths[1].path: Invalid value: "/a/../b/.": must not contain '/../'`,
				`spec.rules[0].http.paths[1].path: Invalid value: "/a/../b/.": cannot end with '/.'`}},
		{"implementation specific may be empty", func(ing *networkingv1.Ingress) {
			path(ing, 0).PathType, path(ing, 0).Path = proto.String("ImplementationSpecific"), ""
		}, nil},
		{"no paths", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].IngressRuleValue.Http.Paths = nil },
			[]string{`spec.rules[0].http.paths: Required value`}},
		{"wildcard host", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "*.example.com" }, nil},
		{"bad wildcard host", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "www.*.com" },
			[]string{`spec.rules[0].host: Invalid value: "www.*.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"IP host", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "10.0.0.1" },
			[]string{`spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`}},
		{"tls host", func(ing *networkingv1.Ingress) { ing.Spec.Tls[0].Hosts[0] = "Example.com" },
			[]string{`spec.tls[0].hosts[0]: Invalid value: "Example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"tls secret name", func(ing *networkingv1.Ingress) { ing.Spec.Tls[0].SecretName = "Example_TLS" },
			[]string{`spec.tls[0].secretName: Invalid value: "Example_TLS": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"class name", func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = proto.String("Nginx") },
			[]string{`spec.ingressClassName: Invalid value: "Nginx": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"class annotation differs", func(ing *networkingv1.Ingress) {
			ing.Metadata.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		}, []string{"annotations.kubernetes.io/ingress.class: Invalid value: \"traefik\": must match `ingressClassName` when both are specified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := validIngress()
			tt.change(ing)
			expectMessages(t, ValidateIngressCreate(ing), tt.want...)
		})
	}
}

// TestIngressUpdateLeniency: a stored TLS secret name that is not a valid
// name keeps passing updates, and the class annotation is checked only on
// create, as Kubernetes does.
func TestIngressUpdateLeniency(t *testing.T) {
	old := validIngress()
	old.Spec.Tls[0].SecretName = "Legacy_Secret"
	next := validIngress()
	next.Spec.Tls[0].SecretName = "Other_Secret"
	next.Metadata.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
	expectMessages(t, ValidateIngressUpdate(next, old))
	if errs := ValidateIngressUpdate(next, validIngress()); len(errs) != 1 || !strings.HasPrefix(errs[0].Field, "spec.tls[0].secretName") {
		t.Errorf("update from a valid secret name: got %v, want one spec.tls[0].secretName error", errs)
	}
}

func TestValidateIngressStatus(t *testing.T) {
	ing := validIngress()
	ing.Status = &networkingv1.IngressStatus{LoadBalancer: &networkingv1.IngressLoadBalancerStatus{Ingress: []*networkingv1.IngressLoadBalancerIngress{
		{Ip: "192.0.2.10"}, {Hostname: "lb.example.com"}, {Ip: "300.1.1.1"}, {Hostname: "192.0.2.11"},
	}}}
	expectMessages(t, ValidateIngressStatusUpdate(ing, validIngress()),
		`status.loadBalancer.ingress[2].ip: Invalid value: "300.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
		`status.loadBalancer.ingress[3].hostname: Invalid value: "192.0.2.11": must be a DNS name, not an IP address`)
}

func validClass() *networkingv1.IngressClass {
	ic := &networkingv1.IngressClass{Spec: &networkingv1.IngressClassSpec{Controller: "example.com/ingress-controller",
		Parameters: &networkingv1.IngressClassParametersReference{ApiGroup: proto.String("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"}}}
	defaults.IngressClass(ic)
	return ic
}

func TestValidateIngressClass(t *testing.T) {
	if got := validClass().Spec.Parameters.GetScope(); got != "Cluster" {
		t.Errorf("default scope: got %q, want Cluster", got)
	}
	expectMessages(t, ValidateIngressClass(validClass()))
	params := func(ic *networkingv1.IngressClass) *networkingv1.IngressClassParametersReference {
		return ic.Spec.Parameters
	}
	tests := []struct {
		name   string
		change func(*networkingv1.IngressClass)
		want   []string
	}{
		{"no controller", func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "" }, []string{`spec.controller: Required value`}},
		{"controller without domain", func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "nginx" },
			[]string{`spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")`}},
		{"long controller", func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "example.com/" + strings.Repeat("a", 240) },
			[]string{`spec.controller: Too long: may not be more than 250 bytes`}},
		{"namespace scope without namespace", func(ic *networkingv1.IngressClass) { params(ic).Scope = proto.String("Namespace") },
			[]string{"spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"}},
		{"namespace scope", func(ic *networkingv1.IngressClass) {
			params(ic).Scope, params(ic).Namespace = proto.String("Namespace"), proto.String("ingress")
		}, nil},
		{"cluster scope with namespace", func(ic *networkingv1.IngressClass) { params(ic).Namespace = proto.String("ingress") },
			[]string{"spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"}},
		{"scope", func(ic *networkingv1.IngressClass) { params(ic).Scope = proto.String("Galaxy") },
			[]string{`spec.parameters.scope: Unsupported value: "Galaxy": supported values: "Cluster", "Namespace"`}},
		{"no scope", func(ic *networkingv1.IngressClass) { params(ic).Scope = nil }, []string{`spec.parameters.scope: Required value`}},
		{"no kind", func(ic *networkingv1.IngressClass) { params(ic).Kind = "" }, []string{`spec.parameters.kind: Required value`}},
		{"name with slash", func(ic *networkingv1.IngressClass) { params(ic).Name = "a/b" },
			[]string{`spec.parameters.name: Invalid value: "a/b": may not contain '/'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic := validClass()
			tt.change(ic)
			expectMessages(t, ValidateIngressClass(ic), tt.want...)
		})
	}
	moved := validClass()
	moved.Spec.Controller = "example.com/other"
	expectMessages(t, ValidateIngressClassUpdate(moved, validClass()),
		`spec.controller: Invalid value: "example.com/other": field is immutable`)
}

// TestNetworkingWithoutSpec: objects sent without a spec are refused or
// passed, never a panic.
func TestNetworkingWithoutSpec(t *testing.T) {
	expectMessages(t, ValidateIngressCreate(&networkingv1.Ingress{Metadata: &metav1.ObjectMeta{
		Annotations: map[string]string{"kubernetes.io/ingress.class": "x"}}}),
		"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified")
	expectMessages(t, ValidateIngressUpdate(&networkingv1.Ingress{}, &networkingv1.Ingress{}),
		"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified")
	expectMessages(t, ValidateIngressStatusUpdate(&networkingv1.Ingress{}, &networkingv1.Ingress{}))
	expectMessages(t, ValidateNetworkPolicy(&networkingv1.NetworkPolicy{}))
	expectMessages(t, ValidateNetworkPolicyUpdate(&networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicy{}))
	expectMessages(t, ValidateIngressClass(&networkingv1.IngressClass{}), "spec.controller: Required value")
	expectMessages(t, ValidateIngressClassUpdate(&networkingv1.IngressClass{}, &networkingv1.IngressClass{}))
}
