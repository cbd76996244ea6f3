package audit

import (
	"slices"
	"strings"
	"testing"

	"skiff.dev/services/apiserver/internal/authorizer"
)

const testPolicy = `
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
- level: None
  userGroups: ["system:nodes"]
  resources: [{group: "", resources: ["events"]}]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods/log", "*/status"]
- level: Request
  resources: [{group: "apps", resources: ["deployments/*"]}]
- level: Metadata
  resources: [{group: "", resources: ["secrets", "configmaps"], resourceNames: ["keep"]}]
  omitStages: [ResponseStarted]
  omitManagedFields: false
- level: Request
  namespaces: ["kube-system"]
- level: Metadata
  nonResourceURLs: ["/healthz*", "/version"]
- level: Metadata
  resources: [{group: "rbac.authorization.k8s.io"}]
- level: RequestResponse
  users: ["alice"]
  resources: [{group: "", resources: ["*"]}]
omitManagedFields: true
`

func res(verb, group, resource, sub, ns, name string) authorizer.Attributes {
	return authorizer.Attributes{User: "bob", Groups: []string{"system:authenticated"}, Verb: verb, ResourceRequest: true,
		APIGroup: group, APIVersion: "v1", Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func TestAuditPolicyFirstMatchingRule(t *testing.T) {
	p, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	as := func(a authorizer.Attributes, user string, groups ...string) authorizer.Attributes {
		a.User, a.Groups = user, groups
		return a
	}
	path := func(verb, p string) authorizer.Attributes {
		return authorizer.Attributes{User: "bob", Verb: verb, Path: p}
	}
	for _, tc := range []struct {
		name  string
		attrs authorizer.Attributes
		level Level
	}{
		{"user and verb", as(res("watch", "", "endpoints", "", "default", ""), "system:kube-proxy"), LevelNone},
		{"user, other verb falls through", as(res("list", "", "endpoints", "", "default", ""), "system:kube-proxy"), LevelNone},
		{"group", as(res("create", "", "events", "", "default", ""), "node-1", "system:nodes"), LevelNone},
		{"group not held", res("create", "", "events", "", "default", ""), LevelNone},
		{"subresource", res("get", "", "pods", "log", "default", "web"), LevelRequestResponse},
		{"the resource itself is not its subresource", res("get", "", "pods", "", "default", "web"), LevelNone},
		{"*/status", res("update", "", "nodes", "status", "", "n1"), LevelRequestResponse},
		{"*/status is the core group's only", res("update", "apps", "deployments", "status", "default", "d"), LevelRequest},
		{"deployments/* has the resource", res("get", "apps", "deployments", "", "default", "d"), LevelRequest},
		{"deployments/* has its subresources", res("update", "apps", "deployments", "scale", "default", "d"), LevelRequest},
		{"other group", res("get", "batch", "jobs", "", "default", "j"), LevelNone},
		{"resourceNames", res("get", "", "secrets", "", "default", "keep"), LevelMetadata},
		{"resourceNames: other name", res("get", "", "secrets", "", "default", "other"), LevelNone},
		{"resourceNames: a list names none", res("list", "", "configmaps", "", "default", ""), LevelNone},
		{"namespace", res("get", "batch", "jobs", "", "kube-system", "j"), LevelRequest},
		{"namespaces match resource requests only", path("get", "/apis"), LevelNone},
		{"non-resource prefix", path("get", "/healthz/etcd"), LevelMetadata},
		{"non-resource exact", path("get", "/version"), LevelMetadata},
		{"non-resource exact only", path("get", "/version/x"), LevelNone},
		{"non-resource rules skip resources", res("get", "", "healthz", "", "", ""), LevelNone},
		{"a group without resources is all of it", res("delete", "rbac.authorization.k8s.io", "roles", "", "x", "r"), LevelMetadata},
		{"* in the core group", as(res("delete", "", "services", "", "default", "s"), "alice"), LevelRequestResponse},
		{"* is not every group", as(res("delete", "apps", "replicasets", "", "default", "s"), "alice"), LevelNone},
		{"unauthenticated: users never match", as(res("delete", "", "services", "", "default", "s"), ""), LevelNone},
	} {
		if got := p.Evaluate(tc.attrs).Level; got != tc.level {
			t.Errorf("%s: level %s, want %s", tc.name, got, tc.level)
		}
	}

	// Stages: the policy's and the rule's together; managed fields: the
	// rule's choice over the policy's.
	cfg := p.Evaluate(res("get", "", "secrets", "", "default", "keep"))
	slices.Sort(cfg.OmitStages)
	if !slices.Equal(cfg.OmitStages, []Stage{StageRequestReceived, StageResponseStarted}) || cfg.OmitManagedFields {
		t.Errorf("secrets rule: %+v", cfg)
	}
	cfg = p.Evaluate(res("get", "", "pods", "log", "default", "web"))
	if !slices.Equal(cfg.OmitStages, []Stage{StageRequestReceived}) || !cfg.OmitManagedFields {
		t.Errorf("pods/log rule: %+v", cfg)
	}
}

func TestAuditPolicyMatchesAll(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []authorizer.Attributes{res("get", "", "pods", "", "x", "y"), {Verb: "get", Path: "/metrics"}} {
		if p.Evaluate(a).Level != LevelMetadata {
			t.Errorf("%+v not matched by a rule without conditions", a)
		}
	}
}

func TestAuditPolicyValidation(t *testing.T) {
	for _, tc := range []struct{ policy, want string }{
		{"apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]", "want apiVersion audit.k8s.io/v1"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []", "no rules"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Everything}]", `rules[0].level: Unsupported value: "Everything"`},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{users: [a]}]", "rules[0].level: Required value"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: [healthz]}]", "must begin with a '/'"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: ['/a*b']}]", "must be the final character"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: [/x], namespaces: [a]}]", "both regular resources and non-resource URLs"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, resources: [{group: Apps_1}]}]", `rules[0].resources[0].group: Invalid value: "Apps_1"`},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, resources: [{resourceNames: [x]}]}]", "requires at least one resource"},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Done]\nrules: [{level: None}]", `omitStages[0]: Invalid value: "Done"`},
		{"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, omitStages: [Later]}]", `rules[0].omitStages[0]`},
		{"{{", "decode"},
	} {
		_, err := ParsePolicy([]byte(tc.policy))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.policy, err, tc.want)
		}
	}
	// Unknown fields are ignored, as Kubernetes' lenient decoding does.
	p, err := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nmetadata: {name: p}\nrules: [{level: Metadata, colour: red}]"))
	if err != nil || p.Rules[0].Level != LevelMetadata {
		t.Errorf("lenient decoding: %v %+v", err, p)
	}
}
