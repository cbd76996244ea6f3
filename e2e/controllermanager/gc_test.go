package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

func (c *cluster) count(kind string, selector string) int {
	c.t.Helper()
	out := c.kubectl("", "get", kind, "-l", selector, "-o", "jsonpath={.items[*].metadata.name}")
	return len(strings.Fields(out))
}

func (c *cluster) waitCount(kind, selector string, want int) {
	c.t.Helper()
	framework.Eventually(c.t, 60*time.Second, fmt.Sprintf("%d %s", want, kind), func() error {
		if got := c.count(kind, selector); got != want {
			return fmt.Errorf("%d %s", got, kind)
		}
		return nil
	})
}

func TestDeletingADeploymentCascades(t *testing.T) {
	c := startCluster(t)
	c.kubectl(webDeployment, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")

	// --cascade=orphan leaves the replica set and pods, without owners.
	c.kubectl("", "delete", "deployment", "web", "--cascade=orphan")
	c.waitCount("deployments", "app=web", 0)
	if got := c.count("rs", "app=web"); got != 1 {
		t.Fatalf("%d replica sets after an orphaning delete, want 1", got)
	}
	framework.Eventually(t, 30*time.Second, "the replica set is orphaned", func() error {
		rs := c.kubectl("", "get", "rs", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.ownerReferences}")
		if rs != "" {
			return fmt.Errorf("owner references %s", rs)
		}
		return nil
	})
	if got := c.count("pods", "app=web"); got != 4 {
		t.Fatalf("%d pods after an orphaning delete, want 4", got)
	}

	// Applied again, the deployment adopts the replica set; a plain delete
	// (background) removes everything.
	c.kubectl(webDeployment, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	if got := c.count("rs", "app=web"); got != 1 {
		t.Fatalf("%d replica sets after re-applying, want the orphan adopted", got)
	}
	c.kubectl("", "delete", "deployment", "web")
	c.waitCount("rs", "app=web", 0)
	c.waitCount("pods", "app=web", 0)
}

func TestForegroundDeletionWaitsForDependents(t *testing.T) {
	c := startCluster(t)
	c.kubectl(webDeployment, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	c.kubectl("", "delete", "deployment", "web", "--cascade=foreground", "--wait=true", "--timeout=60s")
	if got := c.count("rs", "app=web") + c.count("pods", "app=web"); got != 0 {
		t.Fatalf("%d dependents left after a foreground delete returned", got)
	}
}

func TestObjectsWithGoneOwnersAreCollected(t *testing.T) {
	e := setup(t)
	owner, err := e.c.CoreV1().ConfigMaps("default").Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "owner", Namespace: "default"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.c.CoreV1().ConfigMaps("default").Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "other", Namespace: "default"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(cm *corev1.ConfigMap) *metav1.OwnerReference {
		return &metav1.OwnerReference{ApiVersion: "v1", Kind: "ConfigMap", Name: cm.GetMetadata().GetName(), Uid: cm.GetMetadata().GetUid()}
	}
	for name, refs := range map[string][]*metav1.OwnerReference{"only-owner": {ref(owner)}, "two-owners": {ref(owner), ref(other)}} {
		s := &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: refs}}
		if _, err := e.c.CoreV1().Secrets("default").Create(e.ctx, s, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.c.CoreV1().ConfigMaps("default").Delete(e.ctx, "owner", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "only-owner is collected and two-owners keeps its other owner", func() error {
		if _, err := e.c.CoreV1().Secrets("default").Get(e.ctx, "only-owner"); !client.IsNotFound(err) {
			return fmt.Errorf("only-owner: %v", err)
		}
		s, err := e.c.CoreV1().Secrets("default").Get(e.ctx, "two-owners")
		if err != nil {
			return err
		}
		if refs := s.GetMetadata().GetOwnerReferences(); len(refs) != 1 || refs[0].GetName() != "other" {
			return fmt.Errorf("two-owners refs %v", refs)
		}
		return nil
	})
}

// TestForegroundDeletionBreaksAnOwnerCycle is the upstream conformance
// spec "Garbage collector should not be blocked by dependency circle":
// pod1 is owned by pod3, pod2 by pod1 and pod3 by pod2, every reference
// blocking; a foreground delete of pod1 must take all three.
func TestForegroundDeletionBreaksAnOwnerCycle(t *testing.T) {
	c := startCluster(t)
	pods := c.c.CoreV1().Pods("default")
	names := []string{"pod1", "pod2", "pod3"}
	created := map[string]*corev1.Pod{}
	for _, name := range names {
		zero := int64(0)
		p, err := pods.Create(c.ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: &corev1.PodSpec{TerminationGracePeriodSeconds: &zero,
				Containers: []*corev1.Container{{Name: "nginx", Image: "registry.local/nginx:1"}}}}, client.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created[name] = p
	}
	// Each pod is owned by the one before it, pod1 by pod3, as the spec
	// patches them.
	for i, name := range names {
		owner := created[names[(i+2)%3]].GetMetadata()
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}]}}`,
			owner.GetName(), owner.GetUid())
		if _, err := pods.Patch(c.ctx, name, "application/strategic-merge-patch+json", []byte(patch), client.WriteOptions{}, ""); err != nil {
			t.Fatalf("patch %s: %v", name, err)
		}
	}
	for _, name := range names {
		framework.Eventually(t, 30*time.Second, name+" runs", func() error {
			p, err := pods.Get(c.ctx, name)
			if err != nil {
				return err
			}
			if p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %q", p.GetStatus().GetPhase())
			}
			return nil
		})
	}

	policy, uid := "Foreground", created["pod1"].GetMetadata().GetUid()
	if _, err := pods.Delete(c.ctx, "pod1", &metav1.DeleteOptions{PropagationPolicy: &policy,
		Preconditions: &metav1.Preconditions{Uid: &uid}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "all three pods are gone", func() error {
		list, err := pods.List(c.ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		var left []string
		for _, p := range list.GetItems() {
			left = append(left, fmt.Sprintf("%s (finalizers %v, owners %d)", p.GetMetadata().GetName(),
				p.GetMetadata().GetFinalizers(), len(p.GetMetadata().GetOwnerReferences())))
		}
		if len(left) > 0 {
			return fmt.Errorf("left: %v", left)
		}
		return nil
	})
}

// TestEveryKindIsCollected: the collector follows every served kind it
// finds through discovery, with no list of its own: a PodTemplate owned by
// a ConfigMap and a cluster-scoped RuntimeClass owned by a cluster-scoped
// ServiceCIDR go with their owners, and an owner of a group other than
// the core one (a Deployment of apps/v1) is told apart by its group.
func TestEveryKindIsCollected(t *testing.T) {
	e := setup(t, "--controllers=garbagecollector")
	cm, err := e.c.CoreV1().ConfigMaps("default").Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "template-owner"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &corev1.PodTemplate{Metadata: &metav1.ObjectMeta{Name: "owned", OwnerReferences: []*metav1.OwnerReference{
		{ApiVersion: "v1", Kind: "ConfigMap", Name: cm.GetMetadata().GetName(), Uid: cm.GetMetadata().GetUid()}}},
		Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}}
	if _, err := e.c.CoreV1().PodTemplates("default").Create(e.ctx, tmpl, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	cidr, err := e.c.NetworkingV1().ServiceCIDRs().Create(e.ctx, &networkingv1.ServiceCIDR{Metadata: &metav1.ObjectMeta{Name: "owner-range"},
		Spec: &networkingv1.ServiceCIDRSpec{Cidrs: []string{"192.0.2.0/28"}}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &nodev1.RuntimeClass{Metadata: &metav1.ObjectMeta{Name: "owned-class", OwnerReferences: []*metav1.OwnerReference{
		{ApiVersion: "networking.k8s.io/v1", Kind: "ServiceCIDR", Name: cidr.GetMetadata().GetName(), Uid: cidr.GetMetadata().GetUid()}}}, Handler: "runc"}
	if _, err := e.c.NodeV1().RuntimeClasses().Create(e.ctx, rc, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Owned by a Deployment that never existed, named like the ConfigMap
	// that does: the reference is dangling, whatever a ConfigMap of that
	// name is.
	dangling := &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: "dangling", OwnerReferences: []*metav1.OwnerReference{
		{ApiVersion: "apps/v1", Kind: "Deployment", Name: "template-owner", Uid: "00000000-0000-0000-0000-000000000001"}}}}
	if _, err := e.c.CoreV1().Secrets("default").Create(e.ctx, dangling, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CoreV1().ConfigMaps("default").Delete(e.ctx, "template-owner", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.NetworkingV1().ServiceCIDRs().Delete(e.ctx, "owner-range", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, time.Minute, "the dependents of every kind are collected", func() error {
		if _, err := e.c.CoreV1().PodTemplates("default").Get(e.ctx, "owned"); !client.IsNotFound(err) {
			return fmt.Errorf("the PodTemplate: %v", err)
		}
		if _, err := e.c.NodeV1().RuntimeClasses().Get(e.ctx, "owned-class"); !client.IsNotFound(err) {
			return fmt.Errorf("the RuntimeClass: %v", err)
		}
		if _, err := e.c.CoreV1().Secrets("default").Get(e.ctx, "dangling"); !client.IsNotFound(err) {
			return fmt.Errorf("the Secret of a Deployment that never was: %v", err)
		}
		return nil
	})
}
