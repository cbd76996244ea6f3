package kjson

import (
	"testing"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// A custom object's members beyond apiVersion, kind, metadata and status
// are its content, and are written back beside them.
func TestInlineJSONTakesTheOtherMembers(t *testing.T) {
	in := `{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"a"},"spec":{"replicas":3,"x":[1,"<"]},"status":{"ready":true},"extra":null}`
	var obj apiextensionsv1.CustomObject
	if err := Unmarshal([]byte(in), &obj, Strict()); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if got, want := string(obj.GetContent().GetRaw()), `{"spec":{"replicas":3,"x":[1,"<"]},"extra":null}`; got != want {
		t.Errorf("content = %s, want %s", got, want)
	}
	if got := string(obj.GetStatus().GetRaw()); got != `{"ready":true}` {
		t.Errorf("status = %s", got)
	}
	out, err := Marshal(&obj)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"a"},"spec":{"replicas":3,"x":[1,"\u003c"]},"extra":null,"status":{"ready":true}}`
	if string(out) != want {
		t.Errorf("encoded\n %s\nwant\n %s", out, want)
	}
}

func TestInlineJSONEmpty(t *testing.T) {
	var obj apiextensionsv1.CustomObject
	if err := Unmarshal([]byte(`{"kind":"Foo"}`), &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Content != nil {
		t.Errorf("content = %s, want none", obj.GetContent().GetRaw())
	}
	out, _ := Marshal(&obj)
	if string(out) != `{"kind":"Foo"}` {
		t.Errorf("encoded %s", out)
	}
}
