package customresource

import (
	"fmt"
	"strconv"
	"strings"
)

// lookup follows a simple JSON path (.spec.replicas, .status.conditions[0].type)
// through an unstructured object.
func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, step := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[step.name]
			if !ok {
				return nil, false
			}
			cur = v
		default:
			return nil, false
		}
		if step.index >= 0 {
			list, ok := cur.([]any)
			if !ok || step.index >= len(list) {
				return nil, false
			}
			cur = list[step.index]
		}
	}
	return cur, true
}

// set writes a value at a simple JSON path, creating the objects on the way.
func set(m map[string]any, path string, v any) {
	steps := splitPath(path)
	cur := m
	for i, step := range steps {
		if i == len(steps)-1 {
			cur[step.name] = v
			return
		}
		next, ok := cur[step.name].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[step.name] = next
		}
		cur = next
	}
}

type pathStep struct {
	name  string
	index int // -1 when the step has no [n]
}

func splitPath(path string) []pathStep {
	var steps []pathStep
	for _, part := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		step := pathStep{name: part, index: -1}
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			if n, err := strconv.Atoi(part[i+1 : len(part)-1]); err == nil {
				step = pathStep{name: part[:i], index: n}
			}
		}
		steps = append(steps, step)
	}
	return steps
}

// selectableValue is a selectable field's value as a field selector
// compares it: strings as they are, numbers and booleans printed, absent
// fields empty.
func selectableValue(m map[string]any, path string) string {
	v, ok := lookup(m, path)
	if !ok || v == nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
