package controllermanager

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestClusterRoleAggregation: the clusterrole-aggregation controller
// keeps an aggregated ClusterRole's rules the union of the rules of the
// ClusterRoles its selector picks, in order of their names, each rule
// once; it follows an edit of a picked role and its deletion, and writes
// as Kubernetes' field manager.
func TestClusterRoleAggregation(t *testing.T) {
	e := setup(t, "--controllers=clusterrole-aggregation")
	roles := client.For[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList](e.c, "")
	rule := func(verb, resource string) *rbacv1.PolicyRule {
		return &rbacv1.PolicyRule{Verbs: []string{verb}, ApiGroups: []string{""}, Resources: []string{resource}}
	}
	create := func(r *rbacv1.ClusterRole) {
		t.Helper()
		if _, err := roles.Create(e.ctx, r, client.WriteOptions{}); err != nil {
			t.Fatalf("create ClusterRole %s: %v", r.GetMetadata().GetName(), err)
		}
	}
	picked := map[string]string{"e2e.skiff.dev/aggregate-to-monitor": "true"}
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "monitor"},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []*metav1.LabelSelector{{MatchLabels: picked}}}})
	// Created out of name order, sharing one rule: the union is b's rules
	// after a's, the shared one once.
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "monitor-b", Labels: picked},
		Rules: []*rbacv1.PolicyRule{rule("get", "pods"), rule("list", "services")}})
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "monitor-a", Labels: picked},
		Rules: []*rbacv1.PolicyRule{rule("list", "pods"), rule("get", "pods")}})
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "unrelated"},
		Rules: []*rbacv1.PolicyRule{rule("delete", "nodes")}})

	rulesBecome := func(what string, want ...*rbacv1.PolicyRule) {
		t.Helper()
		framework.Eventually(t, time.Minute, what, func() error {
			got, err := roles.Get(e.ctx, "monitor")
			if err != nil {
				return err
			}
			if !slices.EqualFunc(got.GetRules(), want, func(a, b *rbacv1.PolicyRule) bool { return proto.Equal(a, b) }) {
				return fmt.Errorf("got rules %s, want %s", showRules(got.GetRules()), showRules(want))
			}
			return nil
		})
	}
	rulesBecome("the aggregated role has the union of monitor-a's and monitor-b's rules",
		rule("list", "pods"), rule("get", "pods"), rule("list", "services"))

	got, err := roles.Get(e.ctx, "monitor")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got.GetMetadata().GetManagedFields(), func(m *metav1.ManagedFieldsEntry) bool {
		return m.GetManager() == "clusterrole-aggregation-controller"
	}) {
		t.Errorf("managedFields %v, want an entry of clusterrole-aggregation-controller", got.GetMetadata().GetManagedFields())
	}

	b, err := roles.Get(e.ctx, "monitor-b")
	if err != nil {
		t.Fatal(err)
	}
	b.Rules = []*rbacv1.PolicyRule{rule("watch", "endpoints")}
	if _, err := roles.Update(e.ctx, b, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rulesBecome("the aggregated role follows monitor-b's new rules",
		rule("list", "pods"), rule("get", "pods"), rule("watch", "endpoints"))

	if _, err := roles.Delete(e.ctx, "monitor-a", nil); err != nil {
		t.Fatal(err)
	}
	rulesBecome("the aggregated role loses the deleted monitor-a's rules", rule("watch", "endpoints"))

	// The rules it wrote go with the last picked role; rules someone else
	// wrote on a role that picks nothing stay, as after Kubernetes' apply.
	if _, err := roles.Delete(e.ctx, "monitor-b", nil); err != nil {
		t.Fatal(err)
	}
	rulesBecome("the aggregated role has no rules once no role is picked")
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "handwritten"}, Rules: []*rbacv1.PolicyRule{rule("get", "nodes")},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []*metav1.LabelSelector{{MatchLabels: map[string]string{"none": "x"}}}}})
	// A change to any ClusterRole queues every aggregated one: by the time
	// monitor shows monitor-c, handwritten has been queued twice (its
	// creation, monitor-c's) and most likely looked at; the workers run in
	// parallel, so this is no strict proof.
	create(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "monitor-c", Labels: picked},
		Rules: []*rbacv1.PolicyRule{rule("get", "secrets")}})
	rulesBecome("the aggregated role picks up monitor-c", rule("get", "secrets"))
	h, err := roles.Get(e.ctx, "handwritten")
	if err != nil {
		t.Fatal(err)
	}
	if want := []*rbacv1.PolicyRule{rule("get", "nodes")}; !slices.EqualFunc(h.GetRules(), want, func(a, b *rbacv1.PolicyRule) bool { return proto.Equal(a, b) }) {
		t.Errorf("handwritten's rules: got %s, want %s", showRules(h.GetRules()), showRules(want))
	}
}

func showRules(rules []*rbacv1.PolicyRule) string {
	out := "["
	for i, r := range rules {
		if i > 0 {
			out += ", "
		}
		out += "{" + prototext.MarshalOptions{}.Format(r) + "}"
	}
	return out + "]"
}
