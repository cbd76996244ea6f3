package crdschema

import (
	"regexp"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// declType is the CEL type of a schema: an object schema with properties
// is a CEL object type whose fields are its (escaped) property names, one
// with an additionalProperties schema a map, an array a list, and
// int-or-string dyn, as Kubernetes declares them.
type declType struct {
	cel    *types.Type
	fields map[string]*declType // object types only
}

// typeRegistry resolves the object types of one schema for the CEL type
// checker; it wraps the environment's own provider for everything else.
type typeRegistry struct {
	types.Provider
	objects map[string]*declType
}

var _ types.Provider = (*typeRegistry)(nil)

func (r *typeRegistry) FindStructType(name string) (*types.Type, bool) {
	if t, ok := r.objects[name]; ok {
		return types.NewTypeTypeWithParam(t.cel), true
	}
	return r.Provider.FindStructType(name)
}

func (r *typeRegistry) FindStructFieldNames(name string) ([]string, bool) {
	t, ok := r.objects[name]
	if !ok {
		return r.Provider.FindStructFieldNames(name)
	}
	return sortedKeys(t.fields), true
}

func (r *typeRegistry) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	t, ok := r.objects[name]
	if !ok {
		return r.Provider.FindStructFieldType(name, fieldName)
	}
	f, ok := t.fields[fieldName]
	if !ok {
		return nil, false
	}
	return &types.FieldType{Type: f.cel}, true
}

// typeOf is the CEL type of values of n, registering object types under
// names derived from name; nil when n's values have no CEL type (no type
// and not int-or-string). resource adds apiVersion, kind and
// metadata.name/generateName, which every resource has.
func (r *typeRegistry) typeOf(n *node, name string, resource bool) *declType {
	if n == nil {
		return nil
	}
	if n.intOrString {
		return &declType{cel: cel.DynType}
	}
	switch n.typ {
	case "array":
		elem := r.typeOf(n.items, name+".@idx", n.items != nil && n.items.embedded)
		if elem == nil {
			return nil
		}
		return &declType{cel: cel.ListType(elem.cel)}
	case "object":
		if n.additional != nil && !resource {
			elem := r.typeOf(n.additional, name+".@elem", n.additional.embedded)
			if elem == nil {
				return nil
			}
			return &declType{cel: cel.MapType(cel.StringType, elem.cel)}
		}
		t := &declType{cel: types.NewObjectType(name), fields: map[string]*declType{}}
		for k, sub := range n.properties {
			if esc, ok := escape(k); ok {
				if ft := r.typeOf(sub, name+"."+esc, sub.embedded); ft != nil {
					t.fields[esc] = ft
				}
			}
		}
		if resource {
			t.fields["apiVersion"] = &declType{cel: cel.StringType}
			t.fields["kind"] = &declType{cel: cel.StringType}
			meta := &declType{cel: types.NewObjectType(name + ".metadata"), fields: map[string]*declType{
				"name": {cel: cel.StringType}, "generateName": {cel: cel.StringType},
			}}
			r.objects[name+".metadata"] = meta
			t.fields["metadata"] = meta
		}
		r.objects[name] = t
		return t
	case "string":
		switch n.props.GetFormat() {
		case "byte":
			return &declType{cel: cel.BytesType}
		case "duration":
			return &declType{cel: cel.DurationType}
		case "date", "date-time":
			return &declType{cel: cel.TimestampType}
		}
		return &declType{cel: cel.StringType}
	case "boolean":
		return &declType{cel: cel.BoolType}
	case "number":
		return &declType{cel: cel.DoubleType}
	case "integer":
		return &declType{cel: cel.IntType}
	}
	return nil
}

// celKeywords are CEL's reserved words, which property names escape as
// __word__.
var celKeywords = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
	"const": true, "continue": true, "else": true, "for": true, "function": true,
	"if": true, "import": true, "let": true, "loop": true, "package": true,
	"namespace": true, "return": true, "var": true, "void": true, "while": true,
}

var (
	identChars   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_./-]*$`)
	escapedChars = strings.NewReplacer("__", "__underscores__", ".", "__dot__", "-", "__dash__", "/", "__slash__")
)

// escape is the CEL name of a property as Kubernetes escapes it; ok is
// false for names CEL cannot reach (leading digit, other characters).
func escape(name string) (string, bool) {
	if celKeywords[name] {
		return "__" + name + "__", true
	}
	if !identChars.MatchString(name) {
		return "", false
	}
	return escapedChars.Replace(name), true
}
