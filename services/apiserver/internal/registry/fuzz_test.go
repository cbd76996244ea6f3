package registry

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/patchmeta"
)

// fuzzPod is the object the patch fuzzers patch: lists merged by key
// (containers, ports, env), maps and nested objects.
const fuzzPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","labels":{"app":"web"},` +
	`"finalizers":["a/b"]},"spec":{"containers":[{"name":"c","image":"nginx:1.27","ports":[{"containerPort":80,"protocol":"TCP"}],` +
	`"env":[{"name":"A","value":"1"}]}],"tolerations":[{"key":"k","operator":"Exists"}]}}`

// maxFuzzPatch bounds the patches tried, so each input is bounded work.
const maxFuzzPatch = 16 << 10

// patchTypes are the patch types the fuzzers choose from by a byte.
var patchTypes = []string{PatchJSON, PatchMerge, PatchStrategic}

// FuzzApplyPatch: a JSON, merge or strategic merge patch of any bytes
// applied to a pod never panics, fails only with a 4xx Status, and what it
// produces is JSON (which the registry then reads as the kind).
func FuzzApplyPatch(f *testing.F) {
	f.Add(uint8(0), []byte(`[{"op":"replace","path":"/metadata/labels/app","value":"x"}]`))
	f.Add(uint8(0), []byte(`[{"op":"move","from":"/spec/containers/0","path":"/spec/containers/-"}]`))
	f.Add(uint8(1), []byte(`{"metadata":{"labels":{"app":null,"b":"c"}}}`))
	f.Add(uint8(2), []byte(`{"spec":{"containers":[{"name":"c","$patch":"delete"}]}}`))
	f.Add(uint8(2), []byte(`{"metadata":{"$setElementOrder/finalizers":["x/y","a/b"],"finalizers":["x/y"]}}`))
	meta := patchmeta.For(&corev1.Pod{})
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		if len(data) > maxFuzzPatch {
			return
		}
		p := Patch{Type: patchTypes[int(kind)%len(patchTypes)], Data: data}
		out, err := ApplyPatchJSON([]byte(fuzzPod), p, meta)
		if err != nil {
			if code := apierrors.ToStatus(err).GetCode(); code < 400 || code >= 500 {
				t.Fatalf("%s patch %q: %d %v, want a 4xx", p.Type, data, code, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%s patch %q produced invalid JSON %q", p.Type, data, out)
		}
		var pod corev1.Pod
		_ = kjson.Unmarshal(out, &pod) // may fail (wrong types); must not panic
	})
}

// FuzzSelectors: label and field selectors of list and watch requests, as
// the registry parses them, never panic, and a parsed selector's string
// form parses back to the same selector.
func FuzzSelectors(f *testing.F) {
	f.Add("app=web,tier!=db", "metadata.name=web")
	f.Add("env in (prod, qa),!beta,zone", "spec.nodeName!=,status.phase=Running")
	f.Add("x notin (a,b), y>3", `metadata.name=a\,b`)
	f.Add("a=(", "=")
	f.Fuzz(func(t *testing.T, label, field string) {
		if ls, err := labels.Parse(label); err == nil {
			again, err := labels.Parse(ls.String())
			if err != nil || again.String() != ls.String() {
				t.Fatalf("label selector %q: %q reads back as %v, %v", label, ls.String(), again, err)
			}
		}
		if fs, err := fields.ParseSelector(field); err == nil {
			again, err := fields.ParseSelector(fs.String())
			if err != nil || again.String() != fs.String() {
				t.Fatalf("field selector %q: %q reads back as %v, %v", field, fs.String(), again, err)
			}
		}
	})
}
