package discovery

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"skiff.dev/services/apiserver/internal/registry"
)

func TestDiscovery(t *testing.T) {
	h := New([]*registry.Resource{
		{Version: "v1", Plural: "pods", Singular: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Subresources: []string{"status", "binding"}},
		{Group: "apps", Version: "v1", Plural: "deployments", Singular: "deployment", Kind: "Deployment", Namespaced: true, Subresources: []string{"status", "scale"}},
	})
	get := func(path, accept string) (*httptest.ResponseRecorder, map[string]any) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rec, body
	}
	rec, body := get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if rec.Header().Get("Content-Type") != aggregatedV2 || body["kind"] != "APIGroupDiscoveryList" {
		t.Fatalf("aggregated /apis: %s %v", rec.Header().Get("Content-Type"), body)
	}
	rec, body = get("/apis", "application/json")
	if rec.Header().Get("Content-Type") != "application/json" || body["kind"] != "APIGroupList" {
		t.Fatalf("legacy /apis: %v", body)
	}
	_, body = get("/api/v1", "application/json")
	resources := body["resources"].([]any)
	names := map[string]bool{}
	for _, r := range resources {
		names[r.(map[string]any)["name"].(string)] = true
	}
	if !names["pods"] || !names["pods/status"] || !names["pods/binding"] {
		t.Fatalf("/api/v1 resources: %v", names)
	}
	_, body = get("/version", "application/json")
	if body["minor"] != "32" || body["major"] != "1" {
		t.Fatalf("/version: %v", body)
	}
}

func TestTokenSubresourceAndReviews(t *testing.T) {
	h := New([]*registry.Resource{
		{Version: "v1", Plural: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", Namespaced: true, Subresources: []string{"token"}},
		{Group: "authentication.k8s.io", Version: "v1", Plural: "selfsubjectreviews", Singular: "selfsubjectreview", Kind: "SelfSubjectReview", Verbs: []string{"create"}},
	})
	get := func(path string) []map[string]any {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body struct{ Resources []map[string]any }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return body.Resources
	}
	var token map[string]any
	for _, r := range get("/api/v1") {
		if r["name"] == "serviceaccounts/token" {
			token = r
		}
	}
	if token == nil || token["group"] != "authentication.k8s.io" || token["kind"] != "TokenRequest" || fmt.Sprint(token["verbs"]) != "[create]" {
		t.Fatalf("serviceaccounts/token: %v", token)
	}
	reviews := get("/apis/authentication.k8s.io/v1")
	if len(reviews) != 1 || fmt.Sprint(reviews[0]["verbs"]) != "[create]" || reviews[0]["storageVersionHash"] != nil {
		t.Fatalf("selfsubjectreviews: %v", reviews)
	}
}
