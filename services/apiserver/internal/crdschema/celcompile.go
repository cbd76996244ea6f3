package crdschema

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// compileRule compiles one rule and its messageExpression, recording the
// errors with Kubernetes' wording.
func compileRule(env *cel.Env, src *apiextensionsv1.ValidationRule, n *node) *rule {
	r := &rule{src: src, optionalOld: src.GetOptionalOldSelf()}
	if strings.TrimSpace(src.GetRule()) == "" {
		return r
	}
	ast, iss := env.Compile(src.GetRule())
	if iss.Err() != nil {
		r.compileErr = "compilation failed: " + iss.String()
		return r
	}
	if ast.OutputType() != cel.BoolType {
		r.compileErr = "cel expression must evaluate to a bool"
		return r
	}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if ref.Name == "oldSelf" {
			r.usesOldSelf = true
		}
	}
	prog, err := env.Program(ast)
	if err != nil {
		r.compileErr = "program instantiation failed: " + err.Error()
		return r
	}
	r.program = prog
	if expr := src.GetMessageExpression(); expr != "" {
		r.message, r.msgErr = compileMessage(env, expr)
		if r.msgErr != "" {
			return r
		}
	}
	if fp := src.GetFieldPath(); fp != "" {
		if p, _, err := validFieldPath(fp, n); err == nil {
			r.fieldPath = p.String()
		}
	}
	return r
}

func compileMessage(env *cel.Env, expr string) (cel.Program, string) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, "messageExpression compilation failed: " + iss.String()
	}
	if ast.OutputType() != cel.StringType {
		return nil, "messageExpression must evaluate to a string"
	}
	prog, err := env.Program(ast)
	if err != nil {
		return nil, "messageExpression instantiation failed: " + err.Error()
	}
	return prog, ""
}

// validFieldPath resolves a rule's fieldPath (".spec.x", "['a.b']") against
// the schema n the rule is on, returning it as a field path and the schema
// it reaches.
func validFieldPath(jsonPath string, n *node) (*field.Path, *node, error) {
	var p *field.Path
	step := func(name string) error {
		switch {
		case n == nil:
			return errors.New("does not refer to a valid field")
		case n.properties != nil:
			sub, ok := n.properties[name]
			if !ok {
				return errors.New("does not refer to a valid field")
			}
			p, n = p.Child(name), sub
		case n.hasAdditional:
			p, n = p.Key(name), n.additional
		default:
			return errors.New("does not refer to a valid field")
		}
		return nil
	}
	rest := jsonPath
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[]")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : end+1]
			if name == "" {
				return nil, nil, errors.New("unexpected end of JSON path")
			}
			if err := step(name); err != nil {
				return nil, nil, err
			}
			rest = rest[end+1:]
		case '[':
			name, after, err := quoted(rest[1:])
			if err != nil {
				return nil, nil, err
			}
			if err := step(name); err != nil {
				return nil, nil, err
			}
			rest = after
		default:
			return nil, nil, fmt.Errorf("expected [ or . but got: %s", rest)
		}
	}
	return p, n, nil
}

// quoted reads 'name'] at the start of s, undoing backslash escapes.
func quoted(s string) (name, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("expected single quoted string but got %s", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			esc, ok := map[byte]string{'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v", '\'': "'", '\\': "\\"}[s[i]]
			if !ok {
				return "", "", fmt.Errorf("invalid string literal: invalid escape char \\%c", s[i])
			}
			b.WriteString(esc)
		case c == '\'':
			if !strings.HasPrefix(s[i+1:], "]") {
				return "", "", errors.New("expected ] but got " + s[i+1:])
			}
			return b.String(), s[i+2:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unexpected end of JSON path")
}
