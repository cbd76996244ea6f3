package kjson

import (
	"errors"
	"slices"
	"testing"

	authorizationv1 "skiff.dev/api/authorization/v1"
)

// An access review's extra values are ExtraValue messages on the wire and
// bare string lists in JSON, as Kubernetes' named []string is.
func TestBareListRoundTrip(t *testing.T) {
	in := `{"kind":"SubjectAccessReview","spec":{"user":"alice","extra":{"scopes":["a","b"],"empty":[],"none":null}},"status":{"allowed":false}}`
	var sar authorizationv1.SubjectAccessReview
	if err := Unmarshal([]byte(in), &sar, Strict()); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	extra := sar.GetSpec().GetExtra()
	if got := extra["scopes"].GetItems(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("scopes = %q", got)
	}
	for _, key := range []string{"empty", "none"} {
		if v, ok := extra[key]; !ok || len(v.GetItems()) != 0 {
			t.Errorf("%s: present %v, items %q; want present and empty", key, ok, v.GetItems())
		}
	}
	out, err := Marshal(&sar)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"SubjectAccessReview","spec":{"user":"alice","extra":{"empty":[],"none":[],"scopes":["a","b"]}},"status":{"allowed":false}}`
	if string(out) != want {
		t.Errorf("encoded\n %s\nwant\n %s", out, want)
	}
}

func TestBareListRefusesAnObject(t *testing.T) {
	var spec authorizationv1.SubjectAccessReviewSpec
	err := Unmarshal([]byte(`{"extra":{"scopes":{"items":["a"]}}}`), &spec)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "extra.scopes" {
		t.Fatalf("got %v, want a FieldError at extra.scopes", err)
	}
	if err := Unmarshal([]byte(`{"extra":{"scopes":[1]}}`), &spec); err == nil {
		t.Error("a number among the values decoded")
	}
}
