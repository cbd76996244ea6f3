package clusterroleaggregation

import (
	"encoding/json"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// ownsRules reports whether the controller's field manager owns role's
// rules (it wrote them last). Kubernetes writes an empty union as an
// apply that leaves rules out, which removes rules the controller owned
// and keeps rules another manager wrote; the controller does the same by
// clearing rules only when they are its own.
func ownsRules(role *rbacv1.ClusterRole) bool {
	for _, m := range role.GetMetadata().GetManagedFields() {
		if m.GetManager() != FieldManager || m.GetSubresource() != "" {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(m.GetFieldsV1().GetRaw(), &fields) == nil {
			if _, ok := fields["f:rules"]; ok {
				return true
			}
		}
	}
	return false
}
