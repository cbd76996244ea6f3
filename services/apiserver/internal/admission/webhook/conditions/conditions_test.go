package conditions

import (
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	for _, tc := range []struct{ expr, err string }{
		{`object.metadata.name == "a"`, ""},
		{`has(object.metadata.labels) && 'x' in object.metadata.labels`, ""},
		{`request.operation != "DELETE"`, ""},
		{`object.metadata.name`, "must evaluate to bool but got dyn"},
		{`"a"`, "must evaluate to bool but got string"},
		{`nope == 1`, "compilation failed: ERROR: <input>:1:1: undeclared reference to 'nope'"},
		{`authorizer.group("").resource("pods").check("get").allowed()`, "compilation failed:"},
	} {
		_, err := Compile("c", tc.expr)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.expr, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want %q...", tc.expr, err, tc.err)
		}
	}
}

func TestMatch(t *testing.T) {
	compile := func(name, expr string) *Condition {
		c, err := Compile(name, expr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	in := Input{
		Object:  []byte(`{"metadata":{"name":"a","labels":{"team":"x"}},"spec":{"replicas":3}}`),
		Request: []byte(`{"operation":"CREATE","userInfo":{"username":"alice"}}`),
	}
	for _, tc := range []struct {
		exprs []string
		want  bool
		err   string
	}{
		{nil, true, ""},
		{[]string{`object.metadata.labels.team == "x"`, `object.spec.replicas == 3`}, true, ""},
		{[]string{`object.spec.replicas > 2`, `request.userInfo.username == "bob"`}, false, ""},
		{[]string{`oldObject == null`}, true, ""},
		// false wins over an error; an error alone is returned.
		{[]string{`object.nope == 1`, `false`}, false, ""},
		{[]string{`object.nope == 1`, `true`}, false, "expression 'c0' resulted in error: no such key: nope"},
	} {
		var conds []*Condition
		for i, e := range tc.exprs {
			conds = append(conds, compile("c"+string(rune('0'+i)), e))
		}
		got, err := Match(conds, in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%q: got %v, %v; want %v, %q", tc.exprs, got, err, tc.want, tc.err)
		}
	}
}
