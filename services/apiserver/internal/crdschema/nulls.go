package crdschema

// dropNulls removes null values whose schema is neither nullable nor
// defaulted, which Kubernetes does right after pruning (a defaulted one
// is replaced by its default when defaults are applied).
func dropNulls(x any, n *node) {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			sub, _ := n.property(k)
			if v == nil && sub != nil && !sub.nullable && !sub.hasDefault {
				delete(x, k)
				continue
			}
			dropNulls(v, sub)
		}
	case []any:
		if n == nil {
			return
		}
		for _, v := range x {
			dropNulls(v, n.items)
		}
	}
}
