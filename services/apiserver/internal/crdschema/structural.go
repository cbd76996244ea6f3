package crdschema

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/kube-openapi/pkg/validation/validate"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// Structural is one CRD version's schema, ready to prune, default and
// validate objects.
type Structural struct {
	props     *apiextensionsv1.JSONSchemaProps // nil for a version without a schema
	root      *node
	validator *validate.SchemaValidator
}

// node is the structural part of a schema (what pruning, defaulting, list
// and embedded-resource checks and CEL walk): the value validations under
// allOf/anyOf/oneOf/not stay in props for kube-openapi.
type node struct {
	props    *apiextensionsv1.JSONSchemaProps
	typ      string
	nullable bool
	// def is the decoded default; hasDefault is false for none or null.
	def        any
	hasDefault bool

	properties map[string]*node
	// hasAdditional is true when additionalProperties is given at all
	// (true, false or a schema); additional is its schema, if any.
	hasAdditional bool
	additional    *node
	items         *node

	preserveUnknown bool
	embedded        bool
	intOrString     bool
	listType        string
	listMapKeys     []string
	mapType         string

	rules      *ruleSet // compiled x-kubernetes-validations, nil without any
	rulesBelow bool     // rules here or in any schema below
}

// New builds the Structural form; it fails for a schema Check rejects.
func New(props *apiextensionsv1.JSONSchemaProps) (*Structural, error) {
	if props != nil {
		props = proto.CloneOf(props)
	}
	errs, root := check(props, field.NewPath("openAPIV3Schema"))
	if len(errs) > 0 {
		return nil, fmt.Errorf("build structural schema: %w", errs)
	}
	if props == nil {
		return &Structural{root: &node{}}, nil
	}
	pruneDefaults(root)
	return &Structural{props: props, root: root, validator: newValidator(props)}, nil
}

// buildNode converts the structural part of p; p must be structural.
func buildNode(p *apiextensionsv1.JSONSchemaProps) (*node, error) {
	if p == nil {
		return nil, nil
	}
	n := &node{
		props:           p,
		typ:             p.GetType(),
		nullable:        p.GetNullable(),
		preserveUnknown: p.GetXKubernetesPreserveUnknownFields(),
		embedded:        p.GetXKubernetesEmbeddedResource(),
		intOrString:     p.GetXKubernetesIntOrString(),
		listType:        p.GetXKubernetesListType(),
		listMapKeys:     p.GetXKubernetesListMapKeys(),
		mapType:         p.GetXKubernetesMapType(),
	}
	if p.GetDefault() != nil {
		v, err := decodeJSON(p.GetDefault())
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		n.def, n.hasDefault = v, v != nil // a null default is no default, as in Kubernetes
	}
	var err error
	if n.items, err = buildNode(p.GetItems().GetSchema()); err != nil {
		return nil, err
	}
	if ap := p.GetAdditionalProperties(); ap != nil {
		n.hasAdditional = true
		if n.additional, err = buildNode(ap.GetSchema()); err != nil {
			return nil, err
		}
	}
	if len(p.GetProperties()) > 0 {
		n.properties = make(map[string]*node, len(p.GetProperties()))
		for k, sub := range p.GetProperties() {
			if n.properties[k], err = buildNode(sub); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// decodeJSON decodes a schema's JSON value (default, enum, example) the
// way objects are decoded: integers as int64.
func decodeJSON(j *apiextensionsv1.JSON) (any, error) {
	if len(j.GetRaw()) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(j.GetRaw(), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// property is the schema of the field k of an object of schema n: a
// declared property, else additionalProperties. ok is false when n says
// nothing about k.
func (n *node) property(k string) (sub *node, ok bool) {
	if n == nil {
		return nil, false
	}
	if p, found := n.properties[k]; found {
		return p, true
	}
	if n.hasAdditional {
		return n.additional, true
	}
	return nil, false
}
