package crdschema

import (
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/json"
	kjson "sigs.k8s.io/json"

	"skiff.dev/services/apiserver/internal/field"
)

// coerceEmbedded prunes the metadata of every embedded resource under x to
// ObjectMeta's fields, as Kubernetes does by decoding it into ObjectMeta
// and encoding it back, and returns the paths of the fields it dropped
// ("spec.template.metadata.foo"). Metadata that does not decode is left
// for Validate to report.
func coerceEmbedded(p *field.Path, x any, n *node) []string {
	if n == nil {
		return nil
	}
	var unknown []string
	switch x := x.(type) {
	case map[string]any:
		if n.embedded {
			if m, ok := x["metadata"]; ok {
				unknown = append(unknown, coerceMeta(p, x, m)...)
			}
		}
		for k, v := range x {
			if sub, ok := n.properties[k]; ok {
				unknown = append(unknown, coerceEmbedded(p.Child(k), v, sub)...)
			} else if n.hasAdditional {
				unknown = append(unknown, coerceEmbedded(p.Key(k), v, n.additional)...)
			}
		}
	case []any:
		for i, v := range x {
			unknown = append(unknown, coerceEmbedded(p.Index(i), v, n.items)...)
		}
	}
	return unknown
}

func coerceMeta(p *field.Path, obj map[string]any, m any) []string {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	meta := &metav1.ObjectMeta{}
	strict, err := kjson.UnmarshalStrict(raw, meta)
	if err != nil {
		return nil
	}
	var unknown []string
	prefix := p.Child("metadata").String()
	for _, e := range strict {
		var fe kjson.FieldError
		if errors.As(e, &fe) {
			unknown = append(unknown, prefix+"."+fe.FieldPath())
		}
	}
	raw, err = json.Marshal(meta)
	if err != nil {
		return unknown
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return unknown
	}
	if meta.CreationTimestamp.IsZero() {
		delete(out, "creationTimestamp")
	}
	obj["metadata"] = out
	return unknown
}
