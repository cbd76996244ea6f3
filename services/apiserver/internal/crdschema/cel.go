package crdschema

import (
	"errors"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// Rules run without cost estimation or a runtime cost limit: Kubernetes
// rejects rules whose estimated cost is too high and stops runaway ones;
// here a rule costs what it costs.

// baseEnv is the CEL environment every rule starts from: the standard
// library with the cel-go extensions Kubernetes enables (strings, sets,
// optionals, two-variable comprehensions) and its evaluation options.
var baseEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(ext.StringsVersion(2)),
		ext.Sets(),
		ext.TwoVarComprehensions(),
	)
})

// ruleSet is a schema's x-kubernetes-validations, compiled.
type ruleSet struct {
	// err is set when no rule could be compiled because the schema's
	// values have no CEL type.
	err   error
	rules []*rule
}

// rule is one compiled validation rule; compileErr or msgErr say why it
// or its messageExpression did not compile.
type rule struct {
	src         *apiextensionsv1.ValidationRule
	program     cel.Program
	message     cel.Program
	usesOldSelf bool
	optionalOld bool
	// fieldPath is the rule's fieldPath, normalised, or "".
	fieldPath  string
	compileErr string
	msgErr     string
}

// compileTree compiles the rules of every schema in the tree under root,
// each with self (and oldSelf) of its schema's CEL type.
func compileTree(root *node, isResource bool) {
	reg := &typeRegistry{objects: map[string]*declType{}}
	compileNode(reg, root, "Object", isResource)
}

func compileNode(reg *typeRegistry, n *node, name string, resource bool) bool {
	if n == nil {
		return false
	}
	has := false
	if len(n.props.GetXKubernetesValidations()) > 0 {
		n.rules = compileRules(reg, n, name, resource)
		has = true
	}
	if compileNode(reg, n.items, name+".@idx", n.items != nil && n.items.embedded) {
		has = true
	}
	if compileNode(reg, n.additional, name+".@elem", n.additional != nil && n.additional.embedded) {
		has = true
	}
	for k, sub := range n.properties {
		esc, ok := escape(k)
		if !ok {
			esc = "@" + k
		}
		if compileNode(reg, sub, name+"."+esc, sub.embedded) {
			has = true
		}
	}
	n.rulesBelow = has
	return has
}

func compileRules(reg *typeRegistry, n *node, name string, resource bool) *ruleSet {
	base, err := baseEnv()
	if err != nil {
		return &ruleSet{err: err}
	}
	t := reg.typeOf(n, name, resource)
	if t == nil {
		return &ruleSet{err: errors.New("failed to convert to declType for CEL validation rules")}
	}
	reg.Provider = base.CELTypeProvider()
	env, err := base.Extend(cel.CustomTypeProvider(reg), cel.Variable("self", t.cel), cel.Variable("oldSelf", t.cel))
	if err != nil {
		return &ruleSet{err: err}
	}
	optEnv, err := base.Extend(cel.CustomTypeProvider(reg), cel.Variable("self", t.cel), cel.Variable("oldSelf", types.NewOptionalType(t.cel)))
	if err != nil {
		return &ruleSet{err: err}
	}
	set := &ruleSet{}
	for _, src := range n.props.GetXKubernetesValidations() {
		e := env
		if src.GetOptionalOldSelf() {
			e = optEnv
		}
		set.rules = append(set.rules, compileRule(e, src, n))
	}
	return set
}
