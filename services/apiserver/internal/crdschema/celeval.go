package crdschema

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/common/types"

	"skiff.dev/services/apiserver/internal/field"
)

func (n *node) hasRules() bool { return n != nil && n.rulesBelow }

// validateRules evaluates the rules of every schema under n on x, with old
// the old value at the same place (nil when there is none: on create, for
// a new field, or for list items that cannot be paired with old ones).
func validateRules(p *field.Path, n *node, x, old any, resource bool) field.ErrorList {
	if !n.hasRules() || x == nil {
		return nil
	}
	var errs field.ErrorList
	if n.rules != nil {
		errs = append(errs, n.rules.evaluate(p, n, x, old, resource)...)
	}
	switch x := x.(type) {
	case map[string]any:
		oldMap, _ := old.(map[string]any)
		for k, v := range x {
			if sub, ok := n.properties[k]; ok {
				errs = append(errs, validateRules(p.Child(k), sub, v, oldMap[k], sub.embedded)...)
			} else if n.additional != nil {
				errs = append(errs, validateRules(p.Key(k), n.additional, v, oldMap[k], n.additional.embedded)...)
			}
		}
	case []any:
		if n.items == nil {
			return errs
		}
		oldList, _ := old.([]any)
		for i, v := range x {
			errs = append(errs, validateRules(p.Index(i), n.items, v, oldItem(n, v, oldList), n.items.embedded)...)
		}
	}
	return errs
}

// oldItem is the element of a map list's old value with the same keys as
// item; elements of other lists have no old value.
func oldItem(n *node, item any, old []any) any {
	m, ok := item.(map[string]any)
	if n.listType != "map" || !ok {
		return nil
	}
	for _, o := range old {
		om, ok := o.(map[string]any)
		if !ok {
			continue
		}
		same := true
		for _, k := range n.listMapKeys {
			if fmt.Sprint(om[k]) != fmt.Sprint(m[k]) {
				same = false
				break
			}
		}
		if same {
			return om
		}
	}
	return nil
}

func (s *ruleSet) evaluate(p *field.Path, n *node, x, old any, resource bool) field.ErrorList {
	if s.err != nil {
		return field.ErrorList{field.Invalid(p, n.typ, fmt.Sprintf("rule compiler initialization error: %v", s.err))}
	}
	self := toVal(x, n, resource)
	vars := map[string]any{"self": self}
	optVars := map[string]any{"self": self, "oldSelf": types.OptionalNone}
	if old != nil {
		oldSelf := toVal(old, n, resource)
		vars["oldSelf"] = oldSelf
		optVars["oldSelf"] = types.OptionalOf(oldSelf)
	}
	var errs field.ErrorList
	for _, r := range s.rules {
		switch {
		case r.compileErr != "":
			errs = append(errs, field.Invalid(p, n.typ, "rule compile error: "+r.compileErr))
			continue
		case r.program == nil, r.usesOldSelf && old == nil && !r.optionalOld:
			continue
		}
		act := vars
		if r.optionalOld {
			act = optVars
		}
		out, _, err := r.program.Eval(act)
		if err != nil {
			if strings.HasPrefix(err.Error(), "no such overload") {
				errs = append(errs, field.Invalid(p, n.typ, fmt.Sprintf("'%v': call arguments did not match a supported operator, function or macro signature for rule: %v", err, r.errorString())))
			} else {
				errs = append(errs, field.Invalid(p, n.typ, fmt.Sprintf("%v evaluating rule: %v", err, r.errorString())))
			}
			continue
		}
		if out == types.True {
			continue
		}
		at := p
		if r.fieldPath != "" {
			at = p.Child(r.fieldPath)
		}
		msg := r.defaultMessage()
		if r.message != nil {
			if m, ok := r.evalMessage(vars); ok {
				msg = m
			}
		}
		errs = append(errs, r.fieldError(at, n.typ, msg))
	}
	return errs
}

// evalMessage runs the messageExpression; a failure, or a message that is
// empty or spans lines, falls back to the rule's message as in Kubernetes.
func (r *rule) evalMessage(vars map[string]any) (string, bool) {
	out, _, err := r.message.Eval(vars)
	if err != nil {
		return "", false
	}
	s, ok := out.Value().(string)
	s = strings.TrimSpace(s)
	if !ok || s == "" || strings.Contains(s, "\n") || len(s) > 5*1024 {
		return "", false
	}
	return s, true
}

func (r *rule) defaultMessage() string {
	if r.src.GetMessage() == "" {
		return "failed rule: " + r.errorString()
	}
	return strings.TrimSpace(r.src.GetMessage())
}

func (r *rule) errorString() string {
	if r.src.GetMessage() != "" {
		return strings.TrimSpace(r.src.GetMessage())
	}
	return strings.TrimSpace(r.src.GetRule())
}

// fieldError is the error of a failed rule, of the rule's reason.
func (r *rule) fieldError(p *field.Path, typ, msg string) *field.Error {
	switch r.src.GetReason() {
	case string(field.ErrorTypeForbidden):
		return field.Forbidden(p, msg)
	case string(field.ErrorTypeRequired):
		return field.Required(p, msg)
	case string(field.ErrorTypeDuplicate):
		return field.Duplicate(p, typ)
	default:
		return field.Invalid(p, typ, msg)
	}
}
