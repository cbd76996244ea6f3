package bootstrappolicy_test

import (
	"slices"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/bootstrappolicy"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestStartReconcilesTheDefaultPolicy: the apiserver's start made every
// object of the policy, a second reconcile writes nothing, and objects a
// user deleted or trimmed are restored.
func TestStartReconcilesTheDefaultPolicy(t *testing.T) {
	a, ctx := newAPI(t)
	p := bootstrappolicy.Default()
	s, writes := reconcileWrites(t, ctx, a, p)
	if writes != 0 || s.Unchanged != count(p) {
		t.Fatalf("reconcile after start: %d writes, %+v; want none of %d objects changed", writes, s, count(p))
	}

	crs, rbs := a.Backend(rbacGroup, "clusterroles"), a.Backend(rbacGroup, "rolebindings")
	if _, err := crs.Delete(ctx, "", "system:basic-user", &metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbs.Delete(ctx, "kube-system", "system::leader-locking-kube-scheduler", &metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	discovery := get(t, ctx, a, clusterRole("system:discovery"))
	discovery.Rules[0].NonResourceUrls = slices.DeleteFunc(discovery.Rules[0].NonResourceUrls, func(u string) bool { return u == "/version" })
	if _, err := crs.Update(ctx, discovery, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	s, _ = reconcileWrites(t, ctx, a, p)
	if want := (bootstrappolicy.Summary{Created: 2, Updated: 1, Unchanged: count(p) - 3}); s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	get(t, ctx, a, clusterRole("system:basic-user"))
	get(t, ctx, a, roleBinding("kube-system", "system::leader-locking-kube-scheduler", ""))
	rules := get(t, ctx, a, clusterRole("system:discovery")).GetRules()
	if n := len(rules); n != 2 || !slices.Equal(rules[1].GetNonResourceUrls(), []string{"/version"}) {
		t.Errorf("system:discovery rules after reconcile: %q", ruleStrings(rules))
	}
}
