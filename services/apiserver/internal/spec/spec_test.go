package spec

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func podResource() Resource {
	return Resource{Version: "v1", Kind: "Pod", Plural: "pods", Namespaced: true, Subresources: []string{"status", "binding"},
		Object: (&corev1.Pod{}).ProtoReflect().Descriptor(), List: (&corev1.PodList{}).ProtoReflect().Descriptor()}
}

func TestPodDocument(t *testing.T) {
	doc := Document("", "v1", []Resource{podResource()})
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]struct {
				GVK        []map[string]string        `json:"x-kubernetes-group-version-kind"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Components.Schemas["io.k8s.api.core.v1.Pod"]
	if len(pod.GVK) != 1 || pod.GVK[0]["kind"] != "Pod" || pod.GVK[0]["version"] != "v1" {
		t.Fatalf("Pod GVK: %v", pod.GVK)
	}
	if !strings.Contains(string(pod.Properties["metadata"]), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") {
		t.Fatalf("metadata: %s", pod.Properties["metadata"])
	}
	containers := string(d.Components.Schemas["io.k8s.api.core.v1.PodSpec"].Properties["containers"])
	if !strings.Contains(containers, `"x-kubernetes-patch-merge-key":"name"`) || !strings.Contains(containers, "io.k8s.api.core.v1.Container") {
		t.Fatalf("containers: %s", containers)
	}
	limits := string(d.Components.Schemas["io.k8s.api.core.v1.ResourceRequirements"].Properties["limits"])
	if !strings.Contains(limits, "io.k8s.apimachinery.pkg.api.resource.Quantity") {
		t.Fatalf("limits: %s", limits)
	}
	// kubectl leaves validation to the server when the PATCH operation of
	// the kind lists the fieldValidation parameter.
	patch := string(d.Paths["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"])
	if !strings.Contains(patch, `"name":"fieldValidation"`) || !strings.Contains(patch, `"kind":"Pod"`) {
		t.Fatalf("patch operation: %s", patch)
	}
	if _, ok := d.Paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]; !ok {
		t.Fatal("no status path")
	}
}

func TestIndexAndDocumentsAreServed(t *testing.T) {
	h := NewHandler([]Resource{podResource()})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi/v3", nil))
	var index struct {
		Paths map[string]struct{ ServerRelativeURL string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &index); err != nil {
		t.Fatal(err)
	}
	url := index.Paths["api/v1"].ServerRelativeURL
	if !strings.HasPrefix(url, "/openapi/v3/api/v1?hash=") {
		t.Fatalf("index: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, immutable" || rec.Header().Get("ETag") == "" {
		t.Fatalf("document: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi/v3/apis/nope/v1", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("unknown group: %d", rec.Code)
	}
}
