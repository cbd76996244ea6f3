package fieldmanager

import (
	"strings"
	"testing"
)

// widgetSchemas are a custom resource's: its spec keeps unknown fields.
const widgetSchemas = `{"com.example.v1.Widget": {"type": "object",
  "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1"}],
  "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
    "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}`

func TestNewTypeConverter(t *testing.T) {
	cases := []struct {
		name     string
		schemas  string
		preserve bool
		cfg      string
		want     string // the fields the apply owns, or the error's start
	}{{
		name:     "unknown fields kept",
		schemas:  widgetSchemas,
		preserve: true,
		cfg:      `{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2, "colour": "red"}}`,
		want:     `{"f:spec":{"f:colour":{},"f:size":{}}}`,
	}, {
		name:    "unknown fields refused",
		schemas: widgetSchemas,
		cfg:     `{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2, "colour": "red"}}`,
		want:    "failed to create typed patch object (/w; example.com/v1, Kind=Widget): .spec.colour: field not declared in schema",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc, err := NewTypeConverter(obj(t, c.schemas), c.preserve)
			if err != nil {
				t.Fatal(err)
			}
			out, err := New(tc, "example.com/v1", "Widget", nil).Apply(nil, obj(t, c.cfg), "m", "", false, t0)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				entries, _ := readEntries(out)
				got = string(entries[0].FieldsV1.Raw)
			}
			if got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestNewTypeConverterRefusesBadSchemas(t *testing.T) {
	_, err := NewTypeConverter(obj(t, `{"x.Bad": {"type": "widget"}}`), false)
	if err == nil || !strings.Contains(err.Error(), "unrecognized type: 'widget'") {
		t.Fatalf("got %v, want unrecognized type", err)
	}
}

// TestUpdateFailureKeepsLiveFields: an object that does not fit the
// schema is still written, with live's managed fields, as Kubernetes does.
func TestUpdateFailureKeepsLiveFields(t *testing.T) {
	m := deployments(t)
	live := must(t)(m.Apply(nil, obj(t, webConfig), "kubectl", "", false, t0))
	bad := copyObject(live)
	bad["spec"].(map[string]any)["replicas"] = "many"
	set(bad, []any{}, "metadata", "managedFields")
	got, err := m.Update(live, bad, "editor", "", t1)
	wantErr := `record update of default/web; apps/v1, Kind=Deployment by "editor": ` +
		`read new object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string`
	if err == nil || err.Error() != wantErr {
		t.Fatalf("got error %v, want %s", err, wantErr)
	}
	want := copyObject(live)
	want["spec"].(map[string]any)["replicas"] = "many"
	wantObject(t, got, string(mustJSON(t, want)))
}
