package spec

import "slices"

// forV2 gives the custom resources among resources their OpenAPI v2
// schemas, as Kubernetes publishes them: what v2 (and kubectl's
// validation with it) cannot express is dropped, and a resource whose
// root keeps unknown fields is a bare object.
func forV2(resources []Resource) []Resource {
	out := make([]Resource, len(resources))
	for i, r := range resources {
		if r.Schema != nil {
			if keep, _ := r.Schema["x-kubernetes-preserve-unknown-fields"].(bool); keep {
				r.bare = true
			}
			r.Schema = customSchemaV2(r.Schema)
		}
		out[i] = r
	}
	return out
}

// customSchemaV2 rewrites one schema node and those under it: no
// junctors (allOf, anyOf, oneOf, not); a nullable node is untyped with no
// properties or items; a node keeping unknown fields has no properties or
// items, and is untyped when it is an object; an array without items is
// untyped; nullable properties are not required.
func customSchemaV2(s map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf", "not"} {
		delete(out, k)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		required, _ := s["required"].([]any)
		converted := make(map[string]any, len(props))
		for name, p := range props {
			ps, _ := p.(map[string]any)
			if nullable, _ := ps["nullable"].(bool); nullable {
				required = slices.DeleteFunc(slices.Clone(required), func(r any) bool { return r == name })
			}
			converted[name] = customSchemaV2(ps)
		}
		out["properties"] = converted
		if required != nil {
			out["required"] = required
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		out["items"] = customSchemaV2(items)
	}
	if add, ok := s["additionalProperties"].(map[string]any); ok {
		if nullable, _ := add["nullable"].(bool); nullable {
			delete(out, "required")
		}
		out["additionalProperties"] = customSchemaV2(add)
	}
	if nullable, _ := out["nullable"].(bool); nullable {
		for _, k := range []string{"type", "nullable", "items", "properties"} {
			delete(out, k)
		}
	}
	keep, _ := out["x-kubernetes-preserve-unknown-fields"].(bool)
	if keep {
		delete(out, "items")
		delete(out, "properties")
	}
	if _, hasItems := out["items"]; !hasItems && out["type"] == "array" {
		delete(out, "type")
	}
	if keep && out["type"] == "object" {
		delete(out, "type")
	}
	return out
}
