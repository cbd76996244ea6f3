package kubeobject

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		typ, name string
		ok        bool
	}{
		{[]string{"deployment/web"}, "deployment", "web", true},
		{[]string{"deployments.apps/web"}, "deployments.apps", "web", true},
		{[]string{"pod", "web-1"}, "pod", "web-1", true},
		{[]string{"web"}, "", "", false},
		{[]string{"deployment/"}, "", "", false},
		{[]string{"/web"}, "", "", false},
		{[]string{"a/b/c"}, "", "", false},
		{[]string{"pod/a", "pod/b"}, "", "", false},
		{nil, "", "", false},
	} {
		typ, name, err := ParseArgs(tc.args)
		if typ != tc.typ || name != tc.name || (err == nil) != tc.ok {
			t.Errorf("ParseArgs(%q): got %q %q %v, want %q %q ok=%v", tc.args, typ, name, err, tc.typ, tc.name, tc.ok)
		}
	}
}

func TestRefString(t *testing.T) {
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	if got := (Ref{Resource: pods, Kind: "Pod", Namespace: "shop", Name: "web", Namespaced: true}).String(); got != "pod shop/web" {
		t.Errorf("got %q, want %q", got, "pod shop/web")
	}
	if got := (Ref{Kind: "Node", Name: "node-a"}).String(); got != "node node-a" {
		t.Errorf("got %q, want %q", got, "node node-a")
	}
}
