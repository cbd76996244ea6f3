package fieldmanager

import (
	"encoding/json"
	"sort"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Kubernetes' own field manager, as apimachinery exports it, set up for
// unstructured objects served in one version, is the reference the
// package is checked against. It reads the clock itself, so results are
// compared with entry times reduced to present or absent.

type sameVersion struct{}

func (sameVersion) Convert(in, out, context any) error { return nil }
func (sameVersion) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	return in, nil
}
func (sameVersion) ConvertFieldLabel(schema.GroupVersionKind, string, string) (string, string, error) {
	return "", "", nil
}

type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

type emptyObjects struct{}

func (emptyObjects) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

func reference(t *testing.T, tc managedfields.TypeConverter, gvk schema.GroupVersionKind, subresource string) *managedfields.FieldManager {
	var filters map[fieldpath.APIVersion]fieldpath.Filter
	if paths, ok := statusReset[subresource]; ok {
		set := fieldpath.NewSet()
		for _, p := range paths {
			set.Insert(dottedPath(p))
		}
		filters = map[fieldpath.APIVersion]fieldpath.Filter{
			fieldpath.APIVersion(gvk.GroupVersion().String()): fieldpath.NewExcludeSetFilter(set)}
	}
	fm, err := managedfields.NewDefaultCRDFieldManager(tc, sameVersion{}, noDefaults{}, emptyObjects{}, gvk, gvk.GroupVersion(), subresource, filters)
	if err != nil {
		t.Fatal(err)
	}
	return fm
}

// normalized is obj as JSON with entries sorted by their identity and
// times reduced to "set".
func normalized(o map[string]any) string {
	o = copyObject(o)
	if list, ok := entryList(o); ok && list != nil {
		for _, e := range list {
			if _, ok := e["time"]; ok {
				e["time"] = "set"
			}
		}
		items := make([]any, len(list))
		sort.Slice(list, func(i, j int) bool {
			a, _ := json.Marshal(withoutFields(list[i]))
			b, _ := json.Marshal(withoutFields(list[j]))
			return string(a) < string(b)
		})
		for i := range list {
			items[i] = list[i]
		}
		o["metadata"].(map[string]any)["managedFields"] = items
	}
	b, _ := json.Marshal(o)
	return string(b)
}

func withoutFields(e map[string]any) map[string]any {
	out := withoutTime(e)
	delete(out, "fieldsV1")
	return out
}

// refStep is a write whose body is JSON or, with edit, live changed by
// edit.
type refStep struct {
	step
	edit func(map[string]any)
}

// checkAgainstReference makes the writes with both and fails where their
// results or error messages differ.
func checkAgainstReference(t *testing.T, steps []refStep) {
	tc := testConverter(t)
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	mine := New(tc, "apps/v1", "Deployment", statusReset)
	refs := map[string]*managedfields.FieldManager{}
	var live map[string]any
	var refLive runtime.Object
	refLive, _ = emptyObjects{}.New(gvk)
	for i, s := range steps {
		body := map[string]any{}
		if s.edit != nil {
			if live != nil {
				body = copyObject(live)
			}
			s.edit(body)
		} else {
			body = obj(t, s.body)
		}
		if refs[s.subresource] == nil {
			refs[s.subresource] = reference(t, tc, gvk, s.subresource)
		}
		ref := refs[s.subresource]
		refBody := &unstructured.Unstructured{Object: copyObject(body)}
		var got map[string]any
		var refGot runtime.Object
		var err, refErr error
		if s.apply {
			got, err = mine.Apply(live, body, s.manager, s.subresource, s.force, time.Now())
			refGot, refErr = ref.Apply(refLive.DeepCopyObject(), refBody, s.manager, s.force)
		} else {
			got, err = mine.Update(live, body, s.manager, s.subresource, time.Now())
			refGot, refErr = ref.Update(refLive.DeepCopyObject(), refBody, s.manager)
		}
		if err != nil || refErr != nil {
			// Update's messages are this package's own.
			if err == nil || refErr == nil || s.apply && err.Error() != refErr.Error() {
				t.Fatalf("step %d: got error %v, want %v", i, err, refErr)
			}
			continue
		}
		want := refGot.(*unstructured.Unstructured).Object
		if g, w := normalized(got), normalized(want); g != w {
			t.Fatalf("step %d: got\n%s\nwant\n%s", i, g, w)
		}
		live, refLive = got, refGot
	}
}
