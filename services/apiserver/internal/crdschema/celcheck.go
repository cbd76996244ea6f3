package crdschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var ruleReasons = []string{"FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"}

// checkRuleFields checks the x-kubernetes-validations of p without
// compiling them: rule and message present and on one line, a known
// reason, a fieldPath that names a field of the schema.
func checkRuleFields(p *apiextensionsv1.JSONSchemaProps, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range p.GetXKubernetesValidations() {
		rp := path.Child("x-kubernetes-validations").Index(i)
		rule, msg := strings.TrimSpace(r.GetRule()), strings.TrimSpace(r.GetMessage())
		switch {
		case rule == "":
			errs = append(errs, field.Required(rp.Child("rule"), "rule is not specified"))
		case r.GetMessage() != "" && msg == "":
			errs = append(errs, field.Invalid(rp.Child("message"), r.GetMessage(), "must be non-empty if specified"))
		case hasNewlines(msg):
			errs = append(errs, field.Invalid(rp.Child("message"), r.GetMessage(), "must not contain line breaks"))
		case hasNewlines(rule) && msg == "":
			errs = append(errs, field.Required(rp.Child("message"), "message must be specified if rule contains line breaks"))
		}
		if r.GetMessageExpression() != "" && strings.TrimSpace(r.GetMessageExpression()) == "" {
			errs = append(errs, field.Required(rp.Child("messageExpression"), "messageExpression must be non-empty if specified"))
		}
		if r.Reason != nil && !containsString(ruleReasons, r.GetReason()) {
			errs = append(errs, field.NotSupported(rp.Child("reason"), r.GetReason(), ruleReasons))
		}
		fp := r.GetFieldPath()
		if fp != "" && strings.TrimSpace(fp) == "" {
			errs = append(errs, field.Invalid(rp.Child("fieldPath"), fp, "must be non-empty if specified"))
		}
		if hasNewlines(fp) {
			errs = append(errs, field.Invalid(rp.Child("fieldPath"), fp, "must not contain line breaks"))
		}
		if fp != "" && !fieldPathValid(p, fp) {
			errs = append(errs, field.Invalid(rp.Child("fieldPath"), fp, "must be a valid path"))
		}
	}
	return errs
}

// fieldPathValid is true when fp resolves in p, or when p is too broken
// to tell (other errors say why).
func fieldPathValid(p *apiextensionsv1.JSONSchemaProps, fp string) bool {
	if unsupported(p) != nil {
		return true
	}
	n, err := buildNode(p)
	if err != nil {
		return true
	}
	_, _, err = validFieldPath(fp, n)
	return err == nil
}

func hasNewlines(s string) bool { return strings.ContainsAny(s, "\n\r") }

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// ruleErrors reports the rules of n that do not compile, and misuse of
// oldSelf and optionalOldSelf.
func ruleErrors(p *apiextensionsv1.JSONSchemaProps, path *field.Path, sc scope, n *node) field.ErrorList {
	vp := path.Child("x-kubernetes-validations")
	if n.rules == nil {
		return nil
	}
	if n.rules.err != nil {
		return field.ErrorList{field.InternalError(vp, n.rules.err)}
	}
	var errs field.ErrorList
	for i, r := range n.rules.rules {
		rp := vp.Index(i)
		if r.compileErr != "" {
			errs = append(errs, field.Invalid(rp.Child("rule"), ruleValue(r.src), r.compileErr))
		}
		if r.msgErr != "" {
			errs = append(errs, field.Invalid(rp.Child("messageExpression"), ruleValue(r.src), r.msgErr))
		}
		switch {
		case r.usesOldSelf && sc.uncorrelatable != nil:
			errs = append(errs, field.Invalid(rp.Child("rule"), r.src.GetRule(), fmt.Sprintf("oldSelf cannot be used on the uncorrelatable portion of the schema within %v", sc.uncorrelatable)))
		case !r.usesOldSelf && r.src.OptionalOldSelf != nil:
			errs = append(errs, field.Invalid(rp.Child("optionalOldSelf"), r.src.GetOptionalOldSelf(), "may not be set if oldSelf is not used in rule"))
		}
	}
	return errs
}

// ruleValue renders a rule as Kubernetes shows it in these errors: its
// internal Go type, encoded with encoding/json's defaults.
func ruleValue(r *apiextensionsv1.ValidationRule) any {
	v := struct {
		Rule              string
		Message           string
		MessageExpression string
		Reason            *string
		FieldPath         string
		OptionalOldSelf   *bool
	}{r.GetRule(), r.GetMessage(), r.GetMessageExpression(), r.Reason, r.GetFieldPath(), r.OptionalOldSelf}
	b, err := json.Marshal(v)
	if err != nil {
		return errors.New(r.GetRule())
	}
	return rawJSON(b)
}
