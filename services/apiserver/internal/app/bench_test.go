package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// BenchmarkCreatePodAuthorization: pod creates over the gRPC face by a
// user who is not in system:masters, with every request allowed
// (AlwaysAllow, the baseline) and with RBAC deciding among 1,000 other
// ClusterRoles and ClusterRoleBindings (Node,RBAC, the default), in the
// same run. docs/performance.md records the results.
func BenchmarkCreatePodAuthorization(b *testing.B) {
	const user = "bench-token,bench,uid-bench"
	for _, mode := range []struct {
		name  string
		modes []string
		roles int
	}{
		{"AlwaysAllow", []string{"AlwaysAllow"}, 0},
		{"RBAC-1000-roles", []string{"Node", "RBAC"}, 1000},
	} {
		b.Run(mode.name, func(b *testing.B) {
			s := startServerWith(b, func(o *Options) { o.AuthorizationMode = mode.modes }, user)
			const rbacAPI = "/apis/rbac.authorization.k8s.io/v1"
			create := func(path, body string) {
				if code, msg := s.doAs("POST", path, s.adminToken, body, nil); code != http.StatusCreated {
					b.Fatalf("POST %s: %d %s", path, code, msg)
				}
			}
			for i := range mode.roles {
				create(rbacAPI+"/clusterroles", fmt.Sprintf(`{"metadata":{"name":"role-%d"},"rules":[{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get"]}]}`, i))
				create(rbacAPI+"/clusterrolebindings", fmt.Sprintf(`{"metadata":{"name":"binding-%d"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"role-%d"},"subjects":[{"kind":"User","name":"user-%d"}]}`, i, i, i))
			}
			if mode.roles > 0 {
				create(rbacAPI+"/namespaces/default/roles", `{"metadata":{"name":"pod-maker"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["create"]}]}`)
				create(rbacAPI+"/namespaces/default/rolebindings", `{"metadata":{"name":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-maker"},"subjects":[{"kind":"User","name":"bench"}]}`)
			}
			c := s.client("bench-token")
			ctx := context.Background()
			pod := func(i int) *corev1.Pod {
				return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", i), Namespace: "default"},
					Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
			}
			pollUntil(b, func() bool {
				_, err := c.CoreV1().Pods("default").Create(ctx, pod(-1), client.WriteOptions{DryRun: true})
				return err == nil
			}, "bench may create pods")
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := c.CoreV1().Pods("default").Create(ctx, pod(i), client.WriteOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
