package customresource

import (
	"bytes"
	"encoding/json"
	"fmt"

	kjson "k8s.io/apimachinery/pkg/util/json"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// unstructured is a custom object's content (and status) as one JSON
// object, integers as int64, the way the schema code reads it; apiVersion,
// kind and the metadata fields a schema may restrict (name,
// generateName) are added for the schema to see and taken out again by
// store.
func unstructured(obj *apiextensionsv1.CustomObject) (map[string]any, error) {
	m := map[string]any{}
	if raw := obj.GetContent().GetRaw(); len(raw) > 0 {
		if err := kjson.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("read the content of %s: %w", obj.GetMetadata().GetName(), err)
		}
		if m == nil {
			m = map[string]any{}
		}
	}
	if raw := obj.GetStatus().GetRaw(); len(raw) > 0 {
		var status any
		if err := kjson.Unmarshal(raw, &status); err != nil {
			return nil, fmt.Errorf("read the status of %s: %w", obj.GetMetadata().GetName(), err)
		}
		m["status"] = status
	}
	m["apiVersion"], m["kind"] = obj.GetApiVersion(), obj.GetKind()
	meta := map[string]any{}
	if n := obj.GetMetadata().GetName(); n != "" {
		meta["name"] = n
	}
	if n := obj.GetMetadata().GetGenerateName(); n != "" {
		meta["generateName"] = n
	}
	m["metadata"] = meta
	return m, nil
}

// store writes m back into obj: status into its own field when the
// resource has the status subresource, everything else (but apiVersion,
// kind and metadata) into content, in the canonical form encoding/json
// gives (sorted keys), so equal contents are equal bytes.
func store(obj *apiextensionsv1.CustomObject, m map[string]any, splitStatus bool) error {
	rest := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "apiVersion", "kind", "metadata":
			continue
		}
		rest[k] = v
	}
	obj.Status = nil
	if status, ok := rest["status"]; ok && splitStatus {
		delete(rest, "status")
		raw, err := marshal(status)
		if err != nil {
			return err
		}
		obj.Status = &apiextensionsv1.JSON{Raw: raw}
	}
	obj.Content = nil
	if len(rest) > 0 {
		raw, err := marshal(rest)
		if err != nil {
			return err
		}
		obj.Content = &apiextensionsv1.JSON{Raw: raw}
	}
	return nil
}

// marshal is encoding/json without HTML escaping, as Kubernetes writes
// unstructured objects.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
