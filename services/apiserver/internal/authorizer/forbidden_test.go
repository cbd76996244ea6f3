package authorizer

import (
	"testing"

	"skiff.dev/services/apiserver/internal/apierrors"
)

func TestForbiddenMessage(t *testing.T) {
	tests := []struct {
		name   string
		attrs  Attributes
		reason string
		want   string
	}{
		{"namespaced", Attributes{User: "X", Verb: "list", ResourceRequest: true, Namespace: "Y", Resource: "secrets"}, "",
			`User "X" cannot list resource "secrets" in API group "" in the namespace "Y"`},
		{"cluster scope", Attributes{User: "X", Verb: "get", ResourceRequest: true, APIGroup: "storage.k8s.io", Resource: "storageclasses", Name: "fast"}, "",
			`User "X" cannot get resource "storageclasses" in API group "storage.k8s.io" at the cluster scope`},
		{"subresource", Attributes{User: "X", Verb: "get", ResourceRequest: true, Namespace: "Y", Resource: "pods", Subresource: "log", Name: "web"}, "",
			`User "X" cannot get resource "pods/log" in API group "" in the namespace "Y"`},
		{"non-resource", Attributes{User: "X", Verb: "get", Path: "/foo"}, "",
			`User "X" cannot get path "/foo"`},
		{"with reason", Attributes{User: "X", Verb: "get", ResourceRequest: true, Namespace: "Y", Resource: "pods"},
			`RBAC: role.rbac.authorization.k8s.io "r" not found`,
			`User "X" cannot get resource "pods" in API group "" in the namespace "Y": RBAC: role.rbac.authorization.k8s.io "r" not found`},
		{"html escaped, reason kept", Attributes{User: "<b>&", Verb: "get", Path: "/a\"b"}, "<x>",
			`User "&lt;b&gt;&amp;" cannot get path "/a\"b": <x>`},
		{"anonymous", Attributes{User: "system:anonymous", Verb: "get", Path: "/"}, "",
			`User "system:anonymous" cannot get path "/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ForbiddenMessage(tt.attrs, tt.reason); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestForbiddenStatus shows the whole message of the 403 Status as the
// server is to build it, with the object's name in the prefix.
func TestForbiddenStatus(t *testing.T) {
	attrs := Attributes{User: "X", Verb: "get", ResourceRequest: true, Namespace: "Y", Resource: "secrets", Name: "token"}
	err := apierrors.NewForbidden(apierrors.Resource{Resource: attrs.Resource, Group: attrs.APIGroup}, attrs.Name, ForbiddenMessage(attrs, ""))
	want := `secrets "token" is forbidden: User "X" cannot get resource "secrets" in API group "" in the namespace "Y"`
	if got := err.Error(); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
