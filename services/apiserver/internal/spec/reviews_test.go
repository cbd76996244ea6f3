package spec

import (
	"encoding/json"
	"reflect"
	"testing"

	authorizationv1 "skiff.dev/api/authorization/v1"
)

// The access reviews are published as Kubernetes publishes them: create
// only, the local one under its namespace, and extra as a map of string
// lists with no ExtraValue schema.
func TestAccessReviewDocument(t *testing.T) {
	resources := []Resource{
		{Group: "authorization.k8s.io", Version: "v1", Kind: "LocalSubjectAccessReview", Plural: "localsubjectaccessreviews",
			Namespaced: true, Verbs: []string{"create"}, Object: (&authorizationv1.LocalSubjectAccessReview{}).ProtoReflect().Descriptor()},
		{Group: "authorization.k8s.io", Version: "v1", Kind: "SubjectAccessReview", Plural: "subjectaccessreviews",
			Verbs: []string{"create"}, Object: (&authorizationv1.SubjectAccessReview{}).ProtoReflect().Descriptor()},
	}
	data, err := json.Marshal(Document("authorization.k8s.io", "v1", resources))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p, item := range d.Paths {
		paths = append(paths, p)
		if _, ok := item["post"]; !ok || len(item) > 2 {
			t.Errorf("%s: %v, want a post only", p, item)
		}
	}
	local := d.Paths["/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews"]
	if local == nil || string(local["parameters"]) == "" {
		t.Errorf("paths %v: the local review has no path with a namespace parameter", paths)
	}
	if _, ok := d.Paths["/apis/authorization.k8s.io/v1/subjectaccessreviews"]; !ok {
		t.Errorf("paths %v: no subjectaccessreviews", paths)
	}

	const prefix = "io.k8s.api.authorization.v1."
	var extra any
	if err := json.Unmarshal(d.Components.Schemas[prefix+"SubjectAccessReviewSpec"].Properties["extra"], &extra); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}
	if !reflect.DeepEqual(extra, want) {
		t.Errorf("extra: %v, want %v", extra, want)
	}
	if _, ok := d.Components.Schemas[prefix+"ExtraValue"]; ok {
		t.Error("ExtraValue has a schema of its own")
	}
	if got := d.Components.Schemas[prefix+"SubjectAccessReviewStatus"].Required; !reflect.DeepEqual(got, []string{"allowed"}) {
		t.Errorf("status required %v", got)
	}
	if got := d.Components.Schemas[prefix+"SubjectAccessReview"].Required; !reflect.DeepEqual(got, []string{"spec"}) {
		t.Errorf("review required %v", got)
	}
}
