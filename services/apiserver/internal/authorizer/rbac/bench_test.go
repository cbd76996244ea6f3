package rbac

import (
	"fmt"
	"testing"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// BenchmarkAuthorize: one decision for a user allowed by a RoleBinding in
// its namespace, among n ClusterRoles and ClusterRoleBindings of other
// users (all of which are looked at first, as Kubernetes' RBAC does).
// docs/performance.md records the results.
func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("clusterbindings=%d", n), func(b *testing.B) {
			src := &staticSource{
				roles:        []*rbacv1.Role{role("team", "pod-maker", rule(l("create"), l(""), l("pods")))},
				roleBindings: []*rbacv1.RoleBinding{roleBinding("team", "bench", "Role", "pod-maker", user("bench"))},
			}
			for i := range n {
				name := fmt.Sprintf("role-%d", i)
				src.clusterRoles = append(src.clusterRoles, clusterRole(name, rule(l("get"), l("apps"), l("deployments"))))
				src.clusterRoleBindings = append(src.clusterRoleBindings, clusterRoleBinding(fmt.Sprintf("binding-%d", i), name, user(fmt.Sprintf("user-%d", i))))
			}
			a := New(src)
			attrs := authorizer.Attributes{User: "bench", Groups: l("system:authenticated"), Verb: "create",
				ResourceRequest: true, Namespace: "team", Resource: "pods"}
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := a.Authorize(b.Context(), attrs); d != authorizer.DecisionAllow {
					b.Fatal("not allowed")
				}
			}
		})
	}
}
