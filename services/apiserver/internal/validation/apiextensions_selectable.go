package validation

import (
	"errors"
	"fmt"
	"strings"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

const maxSelectableFields = 8

// selectableFields checks that each field selector path names a string,
// boolean or integer field of schema outside metadata, once.
func selectableFields(fs []*apiextensionsv1.SelectableField, schema *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, f := range fs {
		jp, path := p.Index(i).Child("jsonPath"), f.GetJsonPath()
		if path == "" {
			errs = append(errs, field.Required(jp, ""))
			continue
		}
		steps, found, err := resolveFieldPath(path, schema)
		if err != nil {
			errs = append(errs, field.Invalid(jp, path, "is an invalid path: "+err.Error()))
			continue
		}
		if len(steps) > 0 && steps[0] == (fieldStep{name: "metadata"}) {
			errs = append(errs, field.Invalid(jp, path, "must not point to fields in metadata"))
		}
		switch found.GetType() {
		case "string", "boolean", "integer":
		default:
			errs = append(errs, field.Invalid(jp, path,
				"must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."))
		}
		if seen[steps.String()] {
			errs = append(errs, field.Duplicate(jp, path))
		}
		seen[steps.String()] = true
	}
	if len(seen) > maxSelectableFields {
		errs = append(errs, field.TooMany(p, len(seen), maxSelectableFields))
	}
	return errs
}

var errNoSuchField = errors.New("does not refer to a valid field")

// fieldStep is a step of a resolved path: a property, or a key of a map.
type fieldStep struct {
	name string
	key  bool
}

type fieldSteps []fieldStep

// String renders the steps as a field path: a.b, m[key].
func (s fieldSteps) String() string {
	var b strings.Builder
	for _, st := range s {
		switch {
		case st.key:
			b.WriteString("[" + st.name + "]")
		case b.Len() > 0:
			b.WriteString("." + st.name)
		default:
			b.WriteString(st.name)
		}
	}
	return b.String()
}

// resolveFieldPath follows a JSON path of dot steps (.a.b; no [...]
// steps) through schema's properties, or into additionalProperties where
// an object has none, as Kubernetes reads field paths, to the schema it
// names.
func resolveFieldPath(path string, schema *apiextensionsv1.JSONSchemaProps) (fieldSteps, *apiextensionsv1.JSONSchemaProps, error) {
	toks := pathTokens(path)
	var steps fieldSteps
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "[":
			return nil, nil, errors.New("array notation is not allowed")
		case ".":
		default:
			return nil, nil, fmt.Errorf("expected [ or . but got: %s", toks[i])
		}
		if i++; i == len(toks) {
			return nil, nil, errors.New("unexpected end of JSON path")
		}
		name := toks[i]
		switch {
		case schema == nil:
			return nil, nil, errNoSuchField
		case len(schema.Properties) > 0:
			next, ok := schema.Properties[name]
			if !ok {
				return nil, nil, errNoSuchField
			}
			steps = append(steps, fieldStep{name: name})
			schema = next
		case schema.AdditionalProperties != nil:
			steps = append(steps, fieldStep{name: name, key: true})
			schema = schema.AdditionalProperties.GetSchema()
		default:
			return nil, nil, errNoSuchField
		}
	}
	return steps, schema, nil
}

// pathTokens splits a JSON path into '.', '[' and ']' and the text
// between them; a token that starts with a quote runs to the closing
// quote (one not escaped by a backslash).
func pathTokens(s string) []string {
	var toks []string
	for len(s) > 0 {
		n := len(s)
		if s[0] == '\'' {
			for i := 1; i < len(s); i++ {
				if s[i] == '\'' && s[i-1] != '\\' {
					n = i + 1
					break
				}
			}
		} else if i := strings.IndexAny(s, ".[]"); i == 0 {
			n = 1
		} else if i > 0 {
			n = i
		}
		toks = append(toks, s[:n])
		s = s[n:]
	}
	return toks
}
