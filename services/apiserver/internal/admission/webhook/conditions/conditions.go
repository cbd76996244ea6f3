// Package conditions compiles and evaluates admission webhooks'
// matchConditions: CEL expressions over the request that must all be true
// for a webhook to be called. Expressions see object, oldObject and
// request as Kubernetes JSON (dynamically typed); Kubernetes' authorizer
// variable is not declared, so an expression that uses it does not
// compile.
package conditions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

// costLimit bounds one evaluation, as Kubernetes bounds match conditions.
const costLimit = 2500000

var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(ext.StringsVersion(2)),
		ext.Sets(),
		ext.TwoVarComprehensions(),
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("request", cel.DynType),
	)
})

// Condition is a compiled expression.
type Condition struct {
	Name    string
	program cel.Program
}

// Compile compiles an expression that must evaluate to a bool. The
// error's text is Kubernetes' detail ("compilation failed: ...", "must
// evaluate to bool but got ...").
func Compile(name, expression string) (*Condition, error) {
	e, err := env()
	if err != nil {
		return nil, err
	}
	ast, issues := e.Compile(expression)
	if issues != nil && issues.Err() != nil {
		return nil, errors.New("compilation failed: " + issues.String())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("must evaluate to bool but got %v", ast.OutputType())
	}
	prog, err := e.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &Condition{Name: name, program: prog}, nil
}

// Input is what the expressions see, as Kubernetes JSON (null for an
// absent object).
type Input struct {
	Object, OldObject, Request []byte
}

// Match evaluates the conditions in order: false as soon as one is false;
// otherwise true, unless one failed to evaluate, when the errors are
// returned (the webhook's failurePolicy decides).
func Match(conds []*Condition, in Input) (bool, error) {
	if len(conds) == 0 {
		return true, nil
	}
	vars := map[string]any{}
	for name, data := range map[string][]byte{"object": in.Object, "oldObject": in.OldObject, "request": in.Request} {
		v, err := decode(data)
		if err != nil {
			return false, err
		}
		vars[name] = v
	}
	var errs []error
	for _, c := range conds {
		out, _, err := c.program.Eval(vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("expression '%s' resulted in error: %w", c.Name, err))
			continue
		}
		if out == types.False {
			return false, nil
		}
		if out != types.True {
			errs = append(errs, fmt.Errorf("expression '%s' resulted in a %v, not a bool", c.Name, out.Type()))
		}
	}
	return len(errs) == 0, errors.Join(errs...)
}

// decode reads JSON as CEL's dynamic values: whole numbers as int64, as
// Kubernetes' integers are.
func decode(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	}
	return v
}
