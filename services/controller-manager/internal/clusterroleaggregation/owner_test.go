package clusterroleaggregation

import (
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

func TestOwnsRules(t *testing.T) {
	entry := func(manager, subresource, fields string) *metav1.ManagedFieldsEntry {
		return &metav1.ManagedFieldsEntry{Manager: manager, Operation: "Update", Subresource: subresource,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	for _, tc := range []struct {
		name    string
		entries []*metav1.ManagedFieldsEntry
		want    bool
	}{
		{"no managed fields", nil, false},
		{"the controller's rules", []*metav1.ManagedFieldsEntry{entry("kubectl", "", `{"f:aggregationRule":{}}`),
			entry(FieldManager, "", `{"f:rules":{}}`)}, true},
		{"someone else's rules", []*metav1.ManagedFieldsEntry{entry("kubectl", "", `{"f:rules":{}}`),
			entry(FieldManager, "", `{"f:metadata":{}}`)}, false},
		{"another subresource", []*metav1.ManagedFieldsEntry{entry(FieldManager, "status", `{"f:rules":{}}`)}, false},
		{"fields that do not parse", []*metav1.ManagedFieldsEntry{entry(FieldManager, "", `{"f:rules"`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role := &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "r", ManagedFields: tc.entries}}
			if got := ownsRules(role); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
