package crdschema

import (
	"encoding/json"

	"skiff.dev/services/apiserver/internal/field"
)

// validateLists reports the duplicates in x-kubernetes-list-type set and
// map lists anywhere under x: each repeated element (or map key) once, at
// its second occurrence.
func validateLists(p *field.Path, n *node, x any) field.ErrorList {
	if n == nil {
		return nil
	}
	var errs field.ErrorList
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			if sub, ok := n.properties[k]; ok {
				errs = append(errs, validateLists(p.Child(k), sub, v)...)
			} else if n.additional != nil {
				errs = append(errs, validateLists(p.Key(k), n.additional, v)...)
			}
		}
	case []any:
		switch n.listType {
		case "set":
			for _, i := range repeated(x) {
				errs = append(errs, field.Duplicate(p.Index(i), badValue(x[i])))
			}
		case "map":
			errs = append(errs, validateListMap(p, n, x)...)
		}
		if n.items != nil {
			for i, v := range x {
				errs = append(errs, validateLists(p.Index(i), n.items, v)...)
			}
		}
	}
	return errs
}

func validateListMap(p *field.Path, n *node, x []any) field.ErrorList {
	for i, e := range x {
		if _, ok := e.(map[string]any); e != nil && !ok {
			return field.ErrorList{field.Invalid(p.Index(i), badValue(e), "must be an object for an array of list-type map")}
		}
	}
	keys := make([]any, len(x))
	for i, e := range x {
		m, _ := e.(map[string]any)
		key := map[string]any{}
		for _, k := range n.listMapKeys {
			if v, ok := m[k]; ok {
				key[k] = v
			}
		}
		keys[i] = key
	}
	var errs field.ErrorList
	for _, i := range repeated(keys) {
		errs = append(errs, field.Duplicate(p.Index(i), badValue(keys[i])))
	}
	return errs
}

// repeated returns the index of the second occurrence of every value
// that occurs more than once in x, in order.
func repeated(x []any) []int {
	if len(x) < 2 {
		return nil
	}
	seen := make(map[string]int, len(x))
	var out []int
	for i, e := range x {
		b, err := json.Marshal(e)
		if err != nil {
			continue
		}
		k := string(b)
		seen[k]++
		if seen[k] == 2 {
			out = append(out, i)
		}
	}
	return out
}
