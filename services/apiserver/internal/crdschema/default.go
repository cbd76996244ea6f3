package crdschema

import "skiff.dev/services/apiserver/internal/jsonvalue"

// Default fills in obj's missing fields from the schema's defaults, as
// Kubernetes does: walking only objects and lists that are present, a
// property with a default that is absent, or null while not nullable,
// gets a copy of the default, and so do null map values and list items
// whose schema is not nullable. Defaults were pruned by New, so they add
// no unknown fields.
func (s *Structural) Default(obj map[string]any) {
	applyDefaults(obj, s.root)
}

func applyDefaults(x any, n *node) {
	if n == nil {
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for k, prop := range n.properties {
			if !prop.hasDefault {
				continue
			}
			if v, found := x[k]; !found || (v == nil && !prop.nullable) {
				x[k] = jsonvalue.Copy(prop.def)
			}
		}
		for k, v := range x {
			if prop, ok := n.properties[k]; ok {
				applyDefaults(v, prop)
			} else if n.hasAdditional && n.additional != nil {
				if v == nil && !n.additional.nullable {
					x[k] = jsonvalue.Copy(n.additional.def)
				}
				applyDefaults(x[k], n.additional)
			}
		}
	case []any:
		if n.items == nil {
			return
		}
		for i := range x {
			if x[i] == nil && !n.items.nullable {
				x[i] = jsonvalue.Copy(n.items.def)
			}
			applyDefaults(x[i], n.items)
		}
	}
}

// pruneDefaults removes from every default what pruning an object would
// remove, so applying a default never adds unknown fields. Check already
// rejects such defaults; this is for defaults inside embedded resources'
// metadata, which Check does not prune-test.
func pruneDefaults(n *node) {
	if n == nil {
		return
	}
	if n.hasDefault {
		pr := &pruner{}
		pr.prune(n.def, n)
	}
	pruneDefaults(n.items)
	pruneDefaults(n.additional)
	for _, p := range n.properties {
		pruneDefaults(p)
	}
}
