package client

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestRBACOverGRPC: the rbac kinds on the gRPC face, found from their
// message types alone, with the REST face's defaults, validation and
// immutable role reference.
func TestRBACOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	roles := client.For[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList](c, "")
	if _, err := roles.Create(ctx, &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "system:reader"},
		Rules: []*rbacv1.PolicyRule{{Verbs: []string{"get"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}}, client.WriteOptions{}); err != nil {
		t.Fatalf("create ClusterRole system:reader: %v", err)
	}
	bindings := client.For[*rbacv1.RoleBinding, *rbacv1.RoleBindingList](c, "default")
	rb, err := bindings.Create(ctx, &rbacv1.RoleBinding{Metadata: &metav1.ObjectMeta{Name: "readers"},
		RoleRef:  &rbacv1.RoleRef{Kind: "ClusterRole", Name: "system:reader"},
		Subjects: []*rbacv1.Subject{{Kind: "Group", Name: "devs"}}}, client.WriteOptions{})
	if err != nil {
		t.Fatalf("create RoleBinding readers: %v", err)
	}
	if g, sg := rb.GetRoleRef().GetApiGroup(), rb.GetSubjects()[0].GetApiGroup(); g != "rbac.authorization.k8s.io" || sg != g {
		t.Errorf("defaults: got roleRef.apiGroup %q, subject apiGroup %q, want rbac.authorization.k8s.io", g, sg)
	}
	list, err := bindings.List(ctx, client.ListOptions{})
	if err != nil || len(list.GetItems()) != 1 {
		t.Fatalf("list RoleBindings: got %v, %v, want readers", list.GetItems(), err)
	}

	rb.RoleRef.Name = "edit"
	if _, err := bindings.Update(ctx, rb, client.WriteOptions{}); !client.IsInvalid(err) {
		t.Errorf("update of the roleRef: got %v, want Invalid", err)
	}
	_, err = bindings.Create(ctx, &rbacv1.RoleBinding{Metadata: &metav1.ObjectMeta{Name: "nobody"},
		RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "x"}, Subjects: []*rbacv1.Subject{{Kind: "Robot", Name: "r2"}}}, client.WriteOptions{})
	if !client.IsInvalid(err) {
		t.Fatalf("create with a Robot subject: got %v, want Invalid", err)
	}
	var se *client.StatusError
	if !errors.As(err, &se) || len(se.Status.GetDetails().GetCauses()) != 1 || se.Status.GetDetails().GetCauses()[0].GetField() != "subjects[0].kind" {
		t.Errorf("create with a Robot subject: got %v, want one cause at subjects[0].kind", err)
	}
	if _, err := bindings.Delete(ctx, "readers", nil); err != nil {
		t.Errorf("delete RoleBinding readers: %v", err)
	}
	if _, err := roles.Delete(ctx, "system:reader", nil); err != nil {
		t.Errorf("delete ClusterRole system:reader: %v", err)
	}
}
