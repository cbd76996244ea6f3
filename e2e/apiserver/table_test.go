package apiserver

import (
	"encoding/json"
	"net/http"
	"testing"

	"skiff.dev/e2e/framework"
)

const (
	tableOnly    = "application/json;as=Table;v=v1;g=meta.k8s.io"
	tableOrJSON  = tableOnly + ",application/json"
	reviewBody   = `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	tokenBody    = `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`
	bindingBody  = `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"name":"n1"}}`
	podBody      = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}}`
	accountBody  = `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"bot"}}`
	reviewsPath  = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
	podsPath     = "/api/v1/namespaces/default/pods"
	accountsPath = "/api/v1/namespaces/default/serviceaccounts"
)

// TestTableNotAcceptable: what Kubernetes cannot print as a Table (reviews,
// pods/binding, pods/log, serviceaccounts/token: no table convertor) answers
// a Table-only Accept with 406 NotAcceptable before doing anything, and
// falls back to the next media type the client accepts.
func TestTableNotAcceptable(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	c := newClient(t, srv)
	for path, body := range map[string]string{podsPath: podBody, accountsPath: accountBody} {
		if code, data := c.do(c.http, "POST", path, "application/json", []byte(body)); code != http.StatusCreated {
			t.Fatalf("create in %s: %d %s", path, code, data)
		}
	}
	cases := []struct {
		name, method, path, body, accept string
		wantCode                         int
		wantKind                         string
	}{
		{"a list prints", "GET", podsPath, "", tableOnly, http.StatusOK, "Table"},
		{"a subresource of a printed kind prints", "GET", podsPath + "/p/status", "", tableOnly, http.StatusOK, "Table"},
		{"a review does not print", "POST", reviewsPath, reviewBody, tableOnly, http.StatusNotAcceptable, "Status"},
		{"a review falls back to JSON", "POST", reviewsPath, reviewBody, tableOrJSON, http.StatusCreated, "SelfSubjectReview"},
		{"a token request does not print", "POST", accountsPath + "/bot/token", tokenBody, tableOnly, http.StatusNotAcceptable, "Status"},
		{"a binding does not print", "POST", podsPath + "/p/binding", bindingBody, tableOnly, http.StatusNotAcceptable, "Status"},
		{"a log does not print", "GET", podsPath + "/p/log", "", tableOnly, http.StatusNotAcceptable, "Status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, data := c.doAccept(c.http, tc.method, tc.path, "application/json", tc.accept, []byte(tc.body))
			var got struct {
				Kind   string `json:"kind"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, data)
			}
			if code != tc.wantCode || got.Kind != tc.wantKind {
				t.Fatalf("got %d %s, want %d with a %s", code, data, tc.wantCode, tc.wantKind)
			}
			if code == http.StatusNotAcceptable && got.Reason != "NotAcceptable" {
				t.Errorf("reason: got %q, want NotAcceptable", got.Reason)
			}
		})
	}
	var pod struct {
		Spec struct {
			NodeName string `json:"nodeName"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(c.get(podsPath+"/p"), &pod); err != nil || pod.Spec.NodeName != "" {
		t.Errorf("a refused binding bound the pod: nodeName %q (%v)", pod.Spec.NodeName, err)
	}
}
