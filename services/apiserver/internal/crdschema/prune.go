package crdschema

import (
	"slices"
	"strconv"
)

// Prune removes from obj, a whole custom resource, the fields the schema
// does not declare, and returns their paths as Kubernetes reports them in
// "unknown field" warnings and strict-decoding errors ("spec.foo",
// "spec.items[0].bar"), sorted. x-kubernetes-preserve-unknown-fields keeps
// the unknown fields of its object (declared fields below it are still
// pruned); additionalProperties declares every key. The root's
// apiVersion, kind and metadata are kept as they are (the registry owns
// root metadata); an embedded resource keeps its apiVersion and kind, and
// its metadata is pruned to ObjectMeta's fields (those paths follow the
// others, sorted too). As Kubernetes does right after pruning, null values
// of fields that are neither nullable nor defaulted are dropped as well,
// without being reported.
func (s *Structural) Prune(obj map[string]any) []string {
	root := *s.root
	root.embedded = true // the root is a resource: apiVersion, kind, metadata stay
	pr := &pruner{}
	pr.prune(obj, &root)
	slices.Sort(pr.unknown)
	dropNulls(obj, s.root)
	meta := coerceEmbedded(nil, obj, s.root)
	slices.Sort(meta)
	return append(pr.unknown, meta...)
}

// pruner walks an object, keeping the path of the value being visited as
// path segments ("spec", ".", "items", "[0]").
type pruner struct {
	path    []string
	unknown []string
}

var resourceFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

func (pr *pruner) prune(x any, n *node) {
	if n != nil && n.preserveUnknown {
		pr.keepUnknown(x, n)
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			if n != nil && n.embedded && resourceFields[k] {
				continue
			}
			if sub, ok := n.property(k); ok {
				pr.visit(k, v, sub, pr.prune)
				continue
			}
			if !resourceFields[k] || len(pr.path) > 0 {
				pr.report(k)
			}
			delete(x, k)
		}
	case []any:
		var items *node
		if n != nil {
			items = n.items
		}
		for i, v := range x {
			pr.visitIndex(i, v, items, pr.prune)
		}
	}
}

// keepUnknown is prune for a value whose schema preserves unknown fields.
func (pr *pruner) keepUnknown(x any, n *node) {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			if n.embedded && resourceFields[k] {
				continue
			}
			if sub, ok := n.property(k); ok {
				pr.visit(k, v, sub, pr.prune)
			}
		}
	case []any:
		if n.items == nil {
			return
		}
		for i, v := range x {
			pr.visitIndex(i, v, n.items, pr.keepUnknown)
		}
	}
}

func (pr *pruner) visit(k string, v any, n *node, walk func(any, *node)) {
	depth := len(pr.path)
	if depth > 0 {
		pr.path = append(pr.path, ".")
	}
	pr.path = append(pr.path, k)
	walk(v, n)
	pr.path = pr.path[:depth]
}

func (pr *pruner) visitIndex(i int, v any, n *node, walk func(any, *node)) {
	depth := len(pr.path)
	pr.path = append(pr.path, "["+strconv.Itoa(i)+"]")
	walk(v, n)
	pr.path = pr.path[:depth]
}

func (pr *pruner) report(k string) {
	p := ""
	for _, seg := range pr.path {
		p += seg
	}
	if p != "" {
		p += "."
	}
	pr.unknown = append(pr.unknown, p+k)
}
