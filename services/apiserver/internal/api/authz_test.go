package api

import (
	"testing"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestRBACFollowsWrites: the authorizer sees roles and bindings as they are
// written, changed and deleted.
func TestRBACFollowsWrites(t *testing.T) {
	a, ctx := newTestAPI(t)
	const g = "rbac.authorization.k8s.io"
	ask := authorizer.ResourceRequest("list", "", "v1", "pods", "", "default", "")
	allowed := func() bool {
		err := authorizer.Check(auth.WithUser(ctx, auth.User{Name: "carol"}), a.Authorizer(), ask)
		return err == nil
	}
	eventually := func(want bool, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for allowed() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: carol may list pods = %v, want %v", what, !want, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if allowed() {
		t.Fatal("carol may list pods before any binding")
	}
	roles, bindings := a.Backend(g, "roles"), a.Backend(g, "rolebindings")
	role := &rbacv1.Role{Metadata: &metav1.ObjectMeta{Name: "reader", Namespace: "default"},
		Rules: []*rbacv1.PolicyRule{{Verbs: []string{"get"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}}
	if _, err := roles.Create(ctx, role, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{Metadata: &metav1.ObjectMeta{Name: "carol", Namespace: "default"},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: g, Kind: "Role", Name: "reader"},
		Subjects: []*rbacv1.Subject{{Kind: "User", ApiGroup: g, Name: "carol"}}}
	if _, err := bindings.Create(ctx, binding, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The role grants get, not list: nothing yet.
	if allowed() {
		t.Fatal("get was taken for list")
	}
	stored, err := roles.Get(ctx, "default", "reader", registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := stored.(*rbacv1.Role)
	r.Rules[0].Verbs = append(r.Rules[0].Verbs, "list")
	if _, err := roles.Update(ctx, r, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(true, "after the role gained list")
	if _, err := bindings.Delete(ctx, "default", "carol", nil); err != nil {
		t.Fatal(err)
	}
	eventually(false, "after the binding went")
}
