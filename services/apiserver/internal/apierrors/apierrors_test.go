package apierrors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"skiff.dev/services/apiserver/internal/field"
)

func TestStatusShapes(t *testing.T) {
	pods := Resource{Resource: "pods", Kind: "Pod"}
	deploy := Resource{Group: "apps", Resource: "deployments", Kind: "Deployment"}
	tests := []struct {
		name    string
		err     error
		code    int32
		reason  string
		message string
	}{
		{"not found", NewNotFound(pods, "web"), 404, ReasonNotFound, `pods "web" not found`},
		{"group", NewNotFound(deploy, "web"), 404, ReasonNotFound, `deployments.apps "web" not found`},
		{"exists", NewAlreadyExists(pods, "web"), 409, ReasonAlreadyExists, `pods "web" already exists`},
		{"conflict", NewConflict(pods, "web", ConflictModified), 409, ReasonConflict,
			`Operation cannot be fulfilled on pods "web": ` + ConflictModified},
		{"invalid", NewInvalid(pods, "web", field.ErrorList{field.Required(field.NewPath("spec", "containers"), "")}),
			422, ReasonInvalid, `Pod "web" is invalid: spec.containers: Required value`},
		{"invalid in a group", NewInvalid(deploy, "web", field.ErrorList{field.Required(field.NewPath("spec", "selector"), "")}),
			422, ReasonInvalid, `Deployment.apps "web" is invalid: spec.selector: Required value`},
		{"wrapped", fmt.Errorf("create: %w", NewBadRequest("bad")), 400, ReasonBadRequest, "bad"},
		{"deadline", context.DeadlineExceeded, 504, ReasonTimeout, MessageRequestTimeout},
		{"other", errors.New("boom"), 500, ReasonInternalError, "Internal error occurred: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ToStatus(tt.err)
			if st.Code != tt.code || st.Reason != tt.reason || st.Message != tt.message {
				t.Errorf("got %d %s %q, want %d %s %q", st.Code, st.Reason, st.Message, tt.code, tt.reason, tt.message)
			}
			if st.Kind != "Status" || st.ApiVersion != "v1" || st.Status != "Failure" {
				t.Errorf("got kind %q apiVersion %q status %q, want Status v1 Failure", st.Kind, st.ApiVersion, st.Status)
			}
		})
	}
}

func TestInvalidCarriesCauses(t *testing.T) {
	errs := field.ErrorList{
		field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), ""),
		field.Invalid(field.NewPath("metadata", "name"), "Web", "must be lowercase"),
	}
	st := NewInvalid(Resource{Resource: "pods", Kind: "Pod"}, "Web", errs).Status
	if got := len(st.Details.Causes); got != 2 {
		t.Fatalf("got %d causes, want 2", got)
	}
	c := st.Details.Causes[0]
	if c.Field != "spec.containers[0].image" || c.Reason != "FieldValueRequired" {
		t.Errorf("got cause %s/%s, want spec.containers[0].image/FieldValueRequired", c.Field, c.Reason)
	}
	// The message leaves the field out, as Kubernetes' does: kubectl
	// prints each cause as "field: message".
	if c := st.Details.Causes[1]; c.Message != `Invalid value: "Web": must be lowercase` {
		t.Errorf("got cause message %q, want %q", c.Message, `Invalid value: "Web": must be lowercase`)
	}
	if st.Details.Kind != "Pod" || st.Details.Name != "Web" {
		t.Errorf("got details %s/%s, want Pod/Web", st.Details.Kind, st.Details.Name)
	}
}
