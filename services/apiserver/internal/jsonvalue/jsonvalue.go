// Package jsonvalue works on decoded JSON values: map[string]any, []any
// and scalars, as the schema code and the field manager handle objects.
package jsonvalue

// Copy copies a JSON value deeply: maps and lists are new, scalars shared
// (they are immutable).
func Copy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = Copy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Copy(e)
		}
		return out
	default:
		return v
	}
}
