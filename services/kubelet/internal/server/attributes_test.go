package server

import (
	"net/http/httptest"
	"testing"
)

// TestAttributes: each path is authorized as the nodes subresource
// Kubernetes' kubelet asks for it, on this node, with the method's verb;
// the gRPC z-page methods as a get of their HTTP twins' subresource.
func TestAttributes(t *testing.T) {
	s := &Server{cfg: Config{NodeName: "node-a"}}
	for _, c := range []struct{ method, path, verb, sub string }{
		{"GET", "/metrics", "get", "metrics"},
		{"GET", "/metrics/cadvisor", "get", "metrics"},
		{"GET", "/statusz", "get", "statusz"},
		{"GET", "/flagz", "get", "configz"},
		{"GET", "/configz", "get", "configz"},
		{"GET", "/debug/pprof/", "get", "proxy"},
		{"POST", "/exec/ns/pod/c", "create", "proxy"},
		{"GET", "/metricsz", "get", "proxy"},
		{"POST", "/skiff.component.v1.ComponentStatusService/Statusz", "get", "statusz"},
		{"POST", "/skiff.component.v1.ComponentStatusService/Flagz", "get", "configz"},
		{"POST", "/skiff.component.v1.ComponentStatusService/Configz", "get", "configz"},
		{"POST", "/skiff.component.v1.ComponentStatusService/Other", "create", "proxy"},
		{"GET", "/skiff.component.v1.ComponentStatusService/Statusz", "get", "proxy"},
	} {
		a := s.attributes(httptest.NewRequest(c.method, c.path, nil))
		if a.Verb != c.verb || a.Subresource != c.sub || a.Resource != "nodes" || a.Name != "node-a" {
			t.Errorf("%s %s: got %+v, want %s nodes/%s of node-a", c.method, c.path, a, c.verb, c.sub)
		}
	}
}
