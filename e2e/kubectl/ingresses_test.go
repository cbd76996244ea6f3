package kubectl

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const (
	classManifest = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: %s
  labels: {e2e: kinds}
spec:
  controller: example.com/ingress-controller
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: %[1]s}
`
	ingressManifest = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  labels: {e2e: kinds}
spec:
  ingressClassName: example
  tls:
  - {hosts: [www.example.com], secretName: example-tls}
  rules:
  - host: www.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}
`
)

// TestIngressClasses: kubectl on IngressClasses: the everyday commands,
// Kubernetes' columns, the parameters' default scope, and a controller
// that may not change.
func TestIngressClasses(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "ingressclasses",
		manifest: func(name string) string { return fmt.Sprintf(classManifest, name) },
		columns:  []string{"NAME", "CONTROLLER", "PARAMETERS", "AGE"},
		cells:    []string{"first", "example.com/ingress-controller", "IngressParameters.k8s.example.com/first", "*"},
	})
	k.runIn(fmt.Sprintf(classManifest, "fixed"), "apply", "-f", "-")
	if got := path(k.jsonOf("get", "ingressclass", "fixed"), "spec", "parameters", "scope"); got != "Cluster" {
		t.Errorf("default parameters scope: got %v, want Cluster", got)
	}
	out, err := k.try("", "patch", "ingressclass", "fixed", "--type=merge", "-p", `{"spec":{"controller":"example.com/other"}}`)
	if err == nil {
		t.Errorf("kubectl patch of the controller: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "kubectl patch of the controller", out, `spec.controller: Invalid value: "example.com/other": field is immutable`)
	out, err = k.try("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: scoped}\nspec:\n  controller: example.com/c\n  parameters: {kind: P, name: p, scope: Namespace}\n", "apply", "-f", "-")
	if err == nil {
		t.Errorf("a Namespace-scoped parameters reference without a namespace: accepted, want refused\n%s", out)
	}
	mustContain(t, "parameters without a namespace", out, "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'")
	k.run("delete", "ingressclass", "fixed")
}

// TestIngresses: kubectl on Ingresses (short name ing): the everyday
// commands, Kubernetes' columns, the status subresource (its writes keep
// the spec, the object's writes keep the status), and bad input.
func TestIngresses(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "ingresses", namespace: "default",
		manifest: func(name string) string { return fmt.Sprintf(ingressManifest, name) },
		columns:  []string{"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"},
		// ADDRESS is empty until a controller writes the status, so the
		// row has one cell less.
		cells: []string{"first", "example", "www.example.com", "80, 443", "*"},
	})

	k.runIn(fmt.Sprintf(ingressManifest, "web"), "apply", "-f", "-")
	k.run("patch", "ing", "web", "--subresource=status", "--type=merge", "-p",
		`{"spec":{"ingressClassName":"changed"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"},{"hostname":"lb.example.com"}]}}}`)
	ing := k.jsonOf("get", "ing", "web")
	if got := path(ing, "spec", "ingressClassName"); got != "example" {
		t.Errorf("spec after a status write: got class %v, want example", got)
	}
	if got := path(ing, "metadata", "generation"); got != 1.0 {
		t.Errorf("generation after a status write: got %v, want 1", got)
	}
	lines := strings.Split(strings.TrimSpace(k.run("get", "ing", "web")), "\n")
	if got, want := fields(lines[len(lines)-1]), []string{"web", "example", "www.example.com", "192.0.2.10,lb.example.com", "80, 443"}; len(got) != 6 || !slices.Equal(got[:5], want) {
		t.Errorf("row after the status write: got %q, want %q and an age", got, want)
	}
	mustContain(t, "kubectl describe ing", k.run("describe", "ing", "web"), "Ingress Class:    example",
		"Address:          192.0.2.10,lb.example.com", "example-tls terminates www.example.com", "www.example.com")
	k.run("patch", "ing", "web", "--type=merge", "-p", `{"spec":{"tls":null},"status":{"loadBalancer":null}}`)
	ing = k.jsonOf("get", "ing", "web")
	if got := path(ing, "status", "loadBalancer", "ingress", 0, "ip"); got != "192.0.2.10" {
		t.Errorf("status after a write of the object: got %v, want 192.0.2.10 kept", got)
	}
	if got := path(ing, "metadata", "generation"); got != 2.0 {
		t.Errorf("generation after a spec change: got %v, want 2", got)
	}
	out, err := k.try("", "patch", "ing", "web", "--subresource=status", "--type=merge", "-p",
		`{"status":{"loadBalancer":{"ingress":[{"hostname":"192.0.2.11"}]}}}`)
	if err == nil {
		t.Errorf("a status with an IP for a hostname: accepted, want refused\n%s", out)
	}
	mustContain(t, "status with an IP hostname", out, `status.loadBalancer.ingress[0].hostname: Invalid value: "192.0.2.11": must be a DNS name, not an IP address`)

	bad := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad}\nspec:\n  rules:\n  - host: '*.*.example.com'\n    http:\n      paths:\n      - {path: relative, pathType: Prefix, backend: {service: {name: web}}}\n"
	out, err = k.try(bad, "apply", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply of a bad Ingress: succeeded, want refused\n%s", out)
	}
	mustContain(t, "kubectl apply of a bad Ingress", out, `The Ingress "bad" is invalid`,
		`spec.rules[0].host: Invalid value: "*.*.example.com": a wildcard DNS-1123 subdomain must start with '*.'`,
		`spec.rules[0].http.paths[0].path: Invalid value: "relative": must be an absolute path`,
		`spec.rules[0].http.paths[0].backend: Required value: port name or number is required`)
	out, err = k.try("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad}\n", "create", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl create of an Ingress without a spec: succeeded, want refused\n%s", out)
	}
	mustContain(t, "kubectl create of an Ingress without a spec", out, "spec: Invalid value: null: either `defaultBackend` or `rules` must be specified")
	if out, err := k.try("", "get", "ing", "bad"); err == nil {
		t.Errorf("the refused Ingress is stored:\n%s", out)
	}
	k.run("delete", "ing", "web")

	// Server-side apply, then client-side apply (a strategic merge
	// patch), each replacing the atomic list of paths whole.
	onePath := strings.Replace(fmt.Sprintf(ingressManifest, "applied"),
		"      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}\n", "", 1)
	k.runIn(fmt.Sprintf(ingressManifest, "applied"), "apply", "--server-side", "-f", "-")
	k.runIn(onePath, "apply", "--server-side", "-f", "-")
	if got := path(k.jsonOf("get", "ing", "applied"), "spec", "rules", 0, "http", "paths"); len(got.([]any)) != 1 {
		t.Errorf("paths after a server-side apply of one: got %v, want one", got)
	}
	k.run("delete", "ing", "applied")
	k.runIn(fmt.Sprintf(ingressManifest, "applied"), "apply", "-f", "-")
	k.runIn(onePath, "apply", "-f", "-")
	if got := path(k.jsonOf("get", "ing", "applied"), "spec", "rules", 0, "http", "paths"); len(got.([]any)) != 1 {
		t.Errorf("paths after a client-side apply of one: got %v, want one", got)
	}
}

// TestDefaultIngressClass: an Ingress that names no class gets the class
// marked default (of two, the newest, or the first by name when made in
// the same second); one that names a class, or carries the old class
// annotation, keeps what it says.
func TestDefaultIngressClass(t *testing.T) {
	k, _ := newKube(t)
	noClass := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n"
	k.runIn(fmt.Sprintf(noClass, "before"), "apply", "-f", "-")
	if got := path(k.jsonOf("get", "ing", "before"), "spec", "ingressClassName"); got != nil {
		t.Errorf("class with no default class: got %v, want none", got)
	}
	mark := "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: %s\n  annotations: {ingressclass.kubernetes.io/is-default-class: \"true\"}\nspec: {controller: example.com/c}\n"
	k.runIn(fmt.Sprintf(mark, "z-older"), "apply", "-f", "-")
	k.runIn(fmt.Sprintf(noClass, "one"), "apply", "-f", "-")
	if got := path(k.jsonOf("get", "ing", "one"), "spec", "ingressClassName"); got != "z-older" {
		t.Errorf("class with one default class: got %v, want z-older", got)
	}
	k.runIn(fmt.Sprintf(mark, "a-newer"), "apply", "-f", "-")
	k.runIn(fmt.Sprintf(noClass, "two"), "apply", "-f", "-")
	if got := path(k.jsonOf("get", "ing", "two"), "spec", "ingressClassName"); got != "a-newer" {
		t.Errorf("class with two default classes: got %v, want a-newer", got)
	}
	annotated := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: annotated\n  annotations: {kubernetes.io/ingress.class: legacy}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n"
	out := k.runIn(annotated, "apply", "-f", "-")
	mustContain(t, "kubectl apply of an Ingress classed by annotation", out, `annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead`)
	if got := path(k.jsonOf("get", "ing", "annotated"), "spec", "ingressClassName"); got != nil {
		t.Errorf("class of an Ingress classed by annotation: got %v, want none", got)
	}
}
