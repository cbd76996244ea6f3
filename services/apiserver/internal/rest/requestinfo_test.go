package rest

import (
	"net/http/httptest"
	"testing"
)

func TestParseRequestInfo(t *testing.T) {
	tests := []struct {
		method, url string
		want        requestInfo
		ok          bool
	}{
		{"GET", "/api/v1/pods", requestInfo{Version: "v1", Resource: "pods", Verb: "list"}, true},
		{"GET", "/api/v1/namespaces/default/pods/web", requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "web", Verb: "get"}, true},
		{"GET", "/api/v1/namespaces/default/pods?watch=true", requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "watch"}, true},
		{"PUT", "/api/v1/namespaces/default/pods/web/status", requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "web", Subresource: "status", Verb: "update"}, true},
		{"GET", "/api/v1/namespaces/kube-system", requestInfo{Version: "v1", Resource: "namespaces", Name: "kube-system", Verb: "get"}, true},
		{"PUT", "/api/v1/namespaces/dev/status", requestInfo{Version: "v1", Resource: "namespaces", Name: "dev", Subresource: "status", Verb: "update"}, true},
		{"GET", "/api/v1/namespaces", requestInfo{Version: "v1", Resource: "namespaces", Verb: "list"}, true},
		{"POST", "/apis/apps/v1/namespaces/default/deployments", requestInfo{Group: "apps", Version: "v1", Namespace: "default", Resource: "deployments", Verb: "create"}, true},
		{"PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", requestInfo{Group: "apps", Version: "v1", Namespace: "default", Resource: "deployments", Name: "web", Subresource: "scale", Verb: "patch"}, true},
		{"DELETE", "/api/v1/namespaces/default/configmaps", requestInfo{Version: "v1", Namespace: "default", Resource: "configmaps", Verb: "deletecollection"}, true},
		{"GET", "/api/v1/nodes/n1", requestInfo{Version: "v1", Resource: "nodes", Name: "n1", Verb: "get"}, true},
		{"GET", "/api/v1", requestInfo{}, false},
		{"GET", "/apis/apps/v1", requestInfo{}, false},
		{"GET", "/version", requestInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.url, func(t *testing.T) {
			got, ok := parseRequestInfo(httptest.NewRequest(tt.method, tt.url, nil))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
