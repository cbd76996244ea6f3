package field

import "testing"

// operator is a named string type, as apimachinery's selector operator.
type operator string

func TestPathAndMessages(t *testing.T) {
	p := NewPath("spec").Child("containers").Index(0).Child("name")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"required", Required(p, ""), "spec.containers[0].name: Required value"},
		{"invalid", Invalid(NewPath("metadata", "name"), "Foo", "must be lowercase"),
			`metadata.name: Invalid value: "Foo": must be lowercase`},
		{"not supported", NotSupported(NewPath("spec", "restartPolicy"), "x", []string{"Always", "Never"}),
			`spec.restartPolicy: Unsupported value: "x": supported values: "Always", "Never"`},
		{"map key", Invalid(NewPath("metadata", "labels").Key("a/b/c"), "a/b/c", "bad key"),
			`metadata.labels[a/b/c]: Invalid value: "a/b/c": bad key`},
		{"forbidden", Forbidden(NewPath("spec"), "pod updates may not change fields"),
			"spec: Forbidden: pod updates may not change fields"},
		{"int value", Invalid(NewPath("spec", "replicas"), int32(-1), "must be greater than or equal to 0"),
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{"too many", TooMany(NewPath("spec", "selectableFields"), 9, 8),
			"spec.selectableFields: Too many: 9: must have at most 8 items"},
		{"named string", Invalid(NewPath("operator"), operator("Near"), "not a valid selector operator"),
			`operator: Invalid value: "Near": not a valid selector operator`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorListJoins(t *testing.T) {
	l := ErrorList{Required(NewPath("a"), ""), Required(NewPath("b"), "")}
	if got, want := l.Error(), "[a: Required value, b: Required value]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
