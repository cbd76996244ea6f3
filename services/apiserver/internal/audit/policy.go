package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"skiff.dev/services/apiserver/internal/authorizer"
)

// Policy is an audit.k8s.io/v1 Policy: rules tried in order, the first
// that matches a request deciding its level; a request no rule matches is
// not recorded.
type Policy struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// Metadata is accepted and ignored, as the policy is no stored object.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Rules    []PolicyRule    `json:"rules"`
	// OmitStages are never recorded, whatever the rule.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields drops metadata.managedFields from the recorded
	// request and response objects, unless a rule says otherwise.
	OmitManagedFields bool `json:"omitManagedFields,omitempty"`
}

// PolicyRule matches requests; every condition given must hold.
type PolicyRule struct {
	Level Level `json:"level"`
	// Users and UserGroups match the authenticated user (not the one it
	// impersonates), by name and by any of its groups.
	Users      []string `json:"users,omitempty"`
	UserGroups []string `json:"userGroups,omitempty"`
	Verbs      []string `json:"verbs,omitempty"`
	// Resources and Namespaces match resource requests only; "" in
	// Namespaces is a cluster-scoped resource.
	Resources  []GroupResources `json:"resources,omitempty"`
	Namespaces []string         `json:"namespaces,omitempty"`
	// NonResourceURLs match other paths: exactly, "*" for all, or a
	// prefix ending in "*" ("/healthz*").
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
	// OmitStages are added to the policy's for this rule's requests.
	OmitStages        []Stage `json:"omitStages,omitempty"`
	OmitManagedFields *bool   `json:"omitManagedFields,omitempty"`
}

// GroupResources matches resources of one API group ("" is core).
type GroupResources struct {
	Group string `json:"group,omitempty"`
	// Resources: "pods", "pods/log" (a subresource), "*/status" (that
	// subresource of any resource), "pods/*" (pods and its
	// subresources), "*" (everything); none is every resource of the group.
	Resources []string `json:"resources,omitempty"`
	// ResourceNames restricts to objects of these names.
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// RequestConfig is what the policy says of one request.
type RequestConfig struct {
	Level             Level
	OmitStages        []Stage
	OmitManagedFields bool
}

// LoadPolicy reads and checks a policy file (YAML or JSON).
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("audit policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy decodes and checks a policy. Fields Kubernetes does not know
// are reported in the log, and the rest of the policy is used, as
// Kubernetes falls back to lenient decoding; a policy of another group or
// version, an invalid one, or one without rules is an error.
func ParsePolicy(data []byte) (*Policy, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	p := &Policy{}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if strictErr := dec.Decode(p); strictErr != nil {
		p = &Policy{}
		if err := json.Unmarshal(js, p); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		slog.Warn("audit policy contains errors, ignoring them", "err", strictErr)
	}
	if p.APIVersion != APIVersion || p.Kind != "Policy" {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %s, kind Policy", p.APIVersion, p.Kind, APIVersion)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(p.Rules) == 0 {
		return nil, errors.New("the policy has no rules, so it would record nothing")
	}
	return p, nil
}

// Validate checks the policy as Kubernetes does, naming each bad field.
func (p *Policy) Validate() error {
	var errs []error
	errs = append(errs, validateStages(p.OmitStages, "omitStages")...)
	for i, r := range p.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		switch r.Level {
		case LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse:
		case "":
			errs = append(errs, fmt.Errorf("%s.level: Required value", at))
		default:
			errs = append(errs, fmt.Errorf("%s.level: Unsupported value: %q: supported values: %q, %q, %q, %q",
				at, r.Level, LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse))
		}
		for j, u := range r.NonResourceURLs {
			if u == "*" {
				continue
			}
			if !strings.HasPrefix(u, "/") {
				errs = append(errs, fmt.Errorf("%s.nonResourceURLs[%d]: Invalid value: %q: non-resource URL rules must begin with a '/' character", at, j, u))
			}
			if u != "" && strings.Contains(u[:len(u)-1], "*") {
				errs = append(errs, fmt.Errorf("%s.nonResourceURLs[%d]: Invalid value: %q: non-resource URL wildcards '*' must be the final character of the rule", at, j, u))
			}
		}
		for j, gr := range r.Resources {
			if gr.Group != "" && !isDNSSubdomain(gr.Group) {
				errs = append(errs, fmt.Errorf("%s.resources[%d].group: Invalid value: %q: must be a DNS subdomain", at, j, gr.Group))
			}
			if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
				errs = append(errs, fmt.Errorf("%s.resources[%d].resourceNames: Invalid value: %q: using resourceNames requires at least one resource", at, j, gr.ResourceNames))
			}
		}
		errs = append(errs, validateStages(r.OmitStages, at+".omitStages")...)
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			errs = append(errs, fmt.Errorf("%s.nonResourceURLs: Invalid value: %q: rules cannot apply to both regular resources and non-resource URLs", at, r.NonResourceURLs))
		}
	}
	return errors.Join(errs...)
}

func validateStages(list []Stage, at string) []error {
	var errs []error
	for i, s := range list {
		if !slices.Contains(stages, s) {
			errs = append(errs, fmt.Errorf("%s[%d]: Invalid value: %q: allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic", at, i, s))
		}
	}
	return errs
}

// isDNSSubdomain: lower-case alphanumerics, '-' and '.', each label
// starting and ending alphanumeric, at most 253 characters.
func isDNSSubdomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// Evaluate finds the first rule matching a request, described as the
// authorizer sees it with the authenticated user filled in.
func (p *Policy) Evaluate(a authorizer.Attributes) RequestConfig {
	for _, r := range p.Rules {
		if r.matches(a) {
			omit := p.OmitManagedFields
			if r.OmitManagedFields != nil {
				omit = *r.OmitManagedFields
			}
			return RequestConfig{Level: r.Level, OmitStages: union(p.OmitStages, r.OmitStages), OmitManagedFields: omit}
		}
	}
	return RequestConfig{Level: LevelNone, OmitStages: p.OmitStages, OmitManagedFields: p.OmitManagedFields}
}

func union(a, b []Stage) []Stage {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (r *PolicyRule) matches(a authorizer.Attributes) bool {
	if len(r.Users) > 0 && (a.User == "" || !slices.Contains(r.Users, a.User)) {
		return false
	}
	if len(r.UserGroups) > 0 && !slices.ContainsFunc(a.Groups, func(g string) bool { return slices.Contains(r.UserGroups, g) }) {
		return false
	}
	if len(r.Verbs) > 0 && !slices.Contains(r.Verbs, a.Verb) {
		return false
	}
	if len(r.Namespaces) > 0 || len(r.Resources) > 0 {
		return r.matchesResource(a)
	}
	if len(r.NonResourceURLs) > 0 {
		if a.ResourceRequest {
			return false
		}
		return slices.ContainsFunc(r.NonResourceURLs, func(spec string) bool { return pathMatches(a.Path, spec) })
	}
	return true
}

func pathMatches(path, spec string) bool {
	if spec == "*" || spec == path {
		return true
	}
	prefix, wild := strings.CutSuffix(spec, "*")
	return wild && strings.HasPrefix(path, prefix)
}

func (r *PolicyRule) matchesResource(a authorizer.Attributes) bool {
	if !a.ResourceRequest {
		return false
	}
	if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, a.Namespace) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	for _, gr := range r.Resources {
		if gr.Group != a.APIGroup {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, a.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == combined || res == "*":
				return true
			case a.Subresource != "" && res == "*/"+a.Subresource:
				return true
			case strings.HasSuffix(res, "/*") && a.Resource == strings.TrimSuffix(res, "/*"):
				return true
			}
		}
	}
	return false
}
