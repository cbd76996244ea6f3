package defaults

import (
	"testing"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
)

func TestRBACBindings(t *testing.T) {
	subjects := func() []*rbacv1.Subject {
		return []*rbacv1.Subject{
			{Kind: "User", Name: "alice"}, {Kind: "Group", Name: "devs"}, {Kind: "ServiceAccount", Name: "ci"},
			{Kind: "User", ApiGroup: "example.com", Name: "bob"}, {Kind: "Robot", Name: "r2"},
		}
	}
	// What each subject's apiGroup becomes: set for Users and Groups, kept
	// when given, left empty for others.
	want := []string{rbacGroup, rbacGroup, "", "example.com", ""}
	for _, tc := range []struct {
		name string
		ref  *rbacv1.RoleRef
		want string
	}{
		{"no roleRef", nil, rbacGroup},
		{"no group", &rbacv1.RoleRef{Kind: "Role", Name: "r"}, rbacGroup},
		{"another group", &rbacv1.RoleRef{ApiGroup: "example.com", Kind: "Role", Name: "r"}, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := &rbacv1.RoleBinding{RoleRef: clone(tc.ref), Subjects: subjects()}
			RoleBinding(rb)
			crb := &rbacv1.ClusterRoleBinding{RoleRef: clone(tc.ref), Subjects: subjects()}
			ClusterRoleBinding(crb)
			for _, b := range []struct {
				kind     string
				ref      *rbacv1.RoleRef
				subjects []*rbacv1.Subject
			}{{"RoleBinding", rb.RoleRef, rb.Subjects}, {"ClusterRoleBinding", crb.RoleRef, crb.Subjects}} {
				if got := b.ref.GetApiGroup(); got != tc.want {
					t.Errorf("%s roleRef.apiGroup: got %q, want %q", b.kind, got, tc.want)
				}
				for i, s := range b.subjects {
					if s.GetApiGroup() != want[i] {
						t.Errorf("%s subjects[%d] (%s) apiGroup: got %q, want %q", b.kind, i, s.GetKind(), s.GetApiGroup(), want[i])
					}
				}
			}
		})
	}
}

func clone(ref *rbacv1.RoleRef) *rbacv1.RoleRef {
	if ref == nil {
		return nil
	}
	return proto.Clone(ref).(*rbacv1.RoleRef)
}
