package authorizer

import (
	"context"
	"errors"
	"testing"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
)

func answer(d Decision, reason string, err error) Authorizer {
	return Func(func(context.Context, Attributes) (Decision, string, error) { return d, reason, err })
}

func TestUnion(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		chain      Union
		want       Decision
		wantReason string
		wantErr    string
	}{
		{"empty has no opinion", Union{}, DecisionNoOpinion, "", ""},
		{"first allow wins", Union{answer(DecisionNoOpinion, "a", nil), answer(DecisionAllow, "b", nil), answer(DecisionDeny, "c", nil)}, DecisionAllow, "b", ""},
		{"deny stops the chain", Union{answer(DecisionDeny, "no", nil), answer(DecisionAllow, "yes", nil)}, DecisionDeny, "no", ""},
		{"no opinion joins reasons and errors", Union{answer(DecisionNoOpinion, "a", boom), answer(DecisionNoOpinion, "b", errors.New("bang"))},
			DecisionNoOpinion, "a\nb", "[boom, bang]"},
		{"an error does not stop the chain", Union{answer(DecisionNoOpinion, "", boom), answer(DecisionAllow, "", nil)}, DecisionAllow, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := tt.chain.Authorize(t.Context(), Attributes{})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if d != tt.want || reason != tt.wantReason || gotErr != tt.wantErr {
				t.Errorf("got %v %q %q, want %v %q %q", d, reason, gotErr, tt.want, tt.wantReason, tt.wantErr)
			}
		})
	}
}

func TestPrivileged(t *testing.T) {
	p := Privileged{"system:masters"}
	if d, _, _ := p.Authorize(t.Context(), Attributes{Groups: []string{"x", "system:masters"}}); d != DecisionAllow {
		t.Errorf("a member of system:masters: got %v, want allow", d)
	}
	if d, _, _ := p.Authorize(t.Context(), Attributes{User: "system:masters", Groups: []string{"x"}}); d != DecisionNoOpinion {
		t.Errorf("a user named like the group: got %v, want no opinion", d)
	}
}

func TestCheck(t *testing.T) {
	ctx := auth.WithUser(t.Context(), auth.User{Name: "u", Groups: []string{"g"}})
	var seen Attributes
	spy := Func(func(_ context.Context, a Attributes) (Decision, string, error) {
		seen = a
		return DecisionNoOpinion, "", nil
	})
	attrs := ResourceRequest("get", "apps", "v1", "deployments", "scale", "ns", "web")
	err := Check(ctx, spy, attrs)
	if seen.User != "u" || len(seen.Groups) != 1 {
		t.Errorf("the authorizer saw user %q groups %v, want u [g]", seen.User, seen.Groups)
	}
	const want = `deployments.apps "web" is forbidden: User "u" cannot get resource "deployments/scale" in API group "apps" in the namespace "ns"`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("got %v, want Forbidden %q", err, want)
	}
	if err := Check(t.Context(), AlwaysAllow, attrs); !apierrors.IsForbidden(err) {
		t.Errorf("a context without a user: got %v, want Forbidden", err)
	}
	if err := Check(ctx, AlwaysAllow, attrs); err != nil {
		t.Errorf("allowed: got %v", err)
	}
	err = Check(ctx, spy, Attributes{Verb: "get", Path: "/metrics"})
	if err == nil || err.Error() != `forbidden: User "u" cannot get path "/metrics"` {
		t.Errorf("non-resource: got %v", err)
	}
}

func TestResourceRequestOfANamespace(t *testing.T) {
	if a := ResourceRequest("get", "", "v1", "namespaces", "", "", "team"); a.Namespace != "team" {
		t.Errorf("a namespace object is in itself: got namespace %q", a.Namespace)
	}
	if a := ResourceRequest("list", "", "v1", "namespaces", "", "", ""); a.Namespace != "" {
		t.Errorf("listing namespaces is cluster-scoped: got namespace %q", a.Namespace)
	}
}

func TestSelectedName(t *testing.T) {
	for sel, want := range map[string]string{
		"": "", "metadata.name=web": "web", "metadata.name==web": "web", "spec.nodeName=n,metadata.name=web": "web",
		"metadata.name!=web": "", "metadata.namespace=web": "",
	} {
		if got := SelectedName(sel); got != want {
			t.Errorf("SelectedName(%q) = %q, want %q", sel, got, want)
		}
	}
}
