package patchmeta

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/util/strategicpatch"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
)

func TestMergeKeysFromContracts(t *testing.T) {
	_, pm, err := For(&corev1.Pod{}).LookupPatchMetadataForStruct("spec")
	if err != nil {
		t.Fatal(err)
	}
	if pm.GetPatchMergeKey() != "" {
		t.Fatalf("spec has merge key %q", pm.GetPatchMergeKey())
	}
	spec, _, _ := For(&corev1.Pod{}).LookupPatchMetadataForStruct("spec")
	elem, pm, err := spec.LookupPatchMetadataForSlice("containers")
	if err != nil {
		t.Fatal(err)
	}
	if pm.GetPatchMergeKey() != "name" || len(pm.GetPatchStrategies()) != 1 || pm.GetPatchStrategies()[0] != "merge" {
		t.Fatalf("containers: key %q strategies %v", pm.GetPatchMergeKey(), pm.GetPatchStrategies())
	}
	if _, _, err := elem.LookupPatchMetadataForStruct("image"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := elem.LookupPatchMetadataForStruct("nosuchfield"); err == nil {
		t.Fatal("unknown field found")
	}
}

func TestStrategicMergeOfDeployment(t *testing.T) {
	original := []byte(`{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"template":{"spec":{"containers":[
		{"name":"a","image":"a:1","env":[{"name":"X","value":"1"}]},{"name":"b","image":"b:1"}]}}}}`)
	patch := []byte(`{"metadata":{"labels":{"tier":"front"}},"spec":{"template":{"spec":{"containers":[
		{"name":"b","image":"b:2"},{"name":"a","env":[{"name":"Y","value":"2"}]}]}}}}`)
	out, err := strategicpatch.StrategicMergePatchUsingLookupPatchMeta(original, patch, For(&appsv1.Deployment{}))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metadata struct{ Labels map[string]string }
		Spec     struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name, Image string
						Env         []struct{ Name, Value string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Labels["app"] != "web" || got.Metadata.Labels["tier"] != "front" {
		t.Fatalf("labels %v", got.Metadata.Labels)
	}
	cs := got.Spec.Template.Spec.Containers
	if len(cs) != 2 {
		t.Fatalf("containers %+v", cs)
	}
	byName := map[string]int{}
	for i, c := range cs {
		byName[c.Name] = i
	}
	a, b := cs[byName["a"]], cs[byName["b"]]
	if a.Image != "a:1" || len(a.Env) != 2 || b.Image != "b:2" {
		t.Fatalf("merged containers %+v", cs)
	}
}

func TestVolumeSourceIsInline(t *testing.T) {
	spec, _, _ := For(&corev1.Pod{}).LookupPatchMetadataForStruct("spec")
	vol, pm, err := spec.LookupPatchMetadataForSlice("volumes")
	if err != nil || pm.GetPatchMergeKey() != "name" {
		t.Fatalf("volumes: %v %q", err, pm.GetPatchMergeKey())
	}
	if _, _, err := vol.LookupPatchMetadataForStruct("configMap"); err != nil {
		t.Fatalf("inline volume source: %v", err)
	}
}
