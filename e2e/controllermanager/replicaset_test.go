// Package controllermanager tests the controller-manager process against a
// real apiserver: replica sets keep their pods, adopt and release them and
// report their status; namespaces get their default service account.
package controllermanager

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

type env struct {
	t   *testing.T
	ctx context.Context
	c   *client.Client
	srv *framework.APIServer
}

func setup(t *testing.T, flags ...string) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	framework.StartControllerManager(t, srv, append([]string{"--leader-elect=false"}, flags...)...)
	return setupClient(t, srv)
}

// setupClient connects a client to srv for the test.
func setupClient(t *testing.T, srv *framework.APIServer) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, c: srv.Client(), srv: srv}
}

func replicaSet(name string, replicas int32, app string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": app}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}},
			},
		},
	}
}

// owned lists the live pods a ReplicaSet controls, by name.
func (e *env) owned(uid string) []*corev1.Pod {
	e.t.Helper()
	list, err := e.c.CoreV1().Pods("default").List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*corev1.Pod
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		for _, ref := range p.GetMetadata().GetOwnerReferences() {
			if ref.GetUid() == uid && ref.GetController() {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetMetadata().GetName() < out[j].GetMetadata().GetName() })
	return out
}

func (e *env) waitOwned(uid string, n int) []*corev1.Pod {
	e.t.Helper()
	var pods []*corev1.Pod
	framework.Eventually(e.t, 60*time.Second, fmt.Sprintf("%d pods owned", n), func() error {
		if pods = e.owned(uid); len(pods) != n {
			return fmt.Errorf("%d owned", len(pods))
		}
		return nil
	})
	return pods
}

func (e *env) waitStatus(name string, check func(*appsv1.ReplicaSetStatus) bool) {
	e.t.Helper()
	framework.Eventually(e.t, 60*time.Second, "replicaset "+name+" status", func() error {
		rs, err := e.c.AppsV1().ReplicaSets("default").Get(e.ctx, name)
		if err != nil {
			return err
		}
		if !check(rs.GetStatus()) {
			return fmt.Errorf("status %v", rs.GetStatus())
		}
		return nil
	})
}

func TestReplicaSetKeepsItsPods(t *testing.T) {
	e := setup(t)
	// An orphan that matches is adopted.
	orphan := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "orphan", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}
	if _, err := e.c.CoreV1().Pods("default").Create(e.ctx, orphan, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := e.c.AppsV1().ReplicaSets("default").Create(e.ctx, replicaSet("web", 3, "web"), client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := rs.GetMetadata().GetUid()
	// Three pods owned, the orphan among them. (Should the controller
	// handle the replica set before its pod informer has the orphan, it
	// makes three pods, then adopts the orphan and deletes the newest
	// surplus one, as Kubernetes' does: the end is the same.)
	var pods []*corev1.Pod
	framework.Eventually(t, 60*time.Second, "3 pods owned, the orphan among them", func() error {
		pods = e.owned(uid)
		names := []string{}
		for _, p := range pods {
			names = append(names, p.GetMetadata().GetName())
		}
		if len(pods) != 3 || !slices.Contains(names, "orphan") {
			return fmt.Errorf("owned: %v", names)
		}
		return nil
	})
	for _, p := range pods {
		if p.GetMetadata().GetName() != "orphan" && p.GetMetadata().GetGenerateName() != "web-" {
			t.Errorf("pod %s was not named after its replica set", p.GetMetadata().GetName())
		}
	}
	e.waitStatus("web", func(s *appsv1.ReplicaSetStatus) bool {
		return s.GetReplicas() == 3 && s.GetFullyLabeledReplicas() == 3 && s.GetObservedGeneration() == rs.GetMetadata().GetGeneration()
	})

	// Scale up and down through the scale subresource.
	for _, n := range []int32{6, 2} {
		// The controller's status writes race the scale's resourceVersion:
		// a conflict is read again and retried.
		framework.Eventually(t, 30*time.Second, fmt.Sprintf("scale to %d", n), func() error {
			scale, err := e.c.AppsV1().ReplicaSets("default").GetScale(e.ctx, "web")
			if err != nil {
				return err
			}
			scale.Spec.Replicas = n
			_, err = e.c.AppsV1().ReplicaSets("default").UpdateScale(e.ctx, scale, client.WriteOptions{})
			return err
		})
		e.waitOwned(uid, int(n))
	}

	// A pod whose labels stop matching is released and replaced.
	pods = e.waitOwned(uid, 2)
	leaving := pods[0]
	leaving.Metadata.Labels = map[string]string{"app": "debug"}
	if _, err := e.c.CoreV1().Pods("default").Update(e.ctx, leaving, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the relabelled pod is released and replaced", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, leaving.GetMetadata().GetName())
		if err != nil {
			return err
		}
		if len(p.GetMetadata().GetOwnerReferences()) != 0 {
			return fmt.Errorf("still owned: %v", p.GetMetadata().GetOwnerReferences())
		}
		if got := len(e.owned(uid)); got != 2 {
			return fmt.Errorf("%d owned", got)
		}
		return nil
	})

	// Ready pods are counted; a deleted pod is replaced.
	for _, p := range e.waitOwned(uid, 2) {
		p.Status.Phase = "Running"
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.Now()}}
		if _, err := e.c.CoreV1().Pods("default").UpdateStatus(e.ctx, p, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitStatus("web", func(s *appsv1.ReplicaSetStatus) bool {
		return s.GetReplicas() == 2 && s.GetReadyReplicas() == 2 && s.GetAvailableReplicas() == 2
	})
	victim := e.owned(uid)[0].GetMetadata().GetName()
	if _, err := e.c.CoreV1().Pods("default").Delete(e.ctx, victim, &metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the deleted pod is replaced", func() error {
		pods := e.owned(uid)
		if len(pods) != 2 {
			return fmt.Errorf("%d owned", len(pods))
		}
		for _, p := range pods {
			if p.GetMetadata().GetName() == victim {
				return fmt.Errorf("%s still there", victim)
			}
		}
		return nil
	})
	e.waitStatus("web", func(s *appsv1.ReplicaSetStatus) bool { return s.GetReplicas() == 2 && s.GetReadyReplicas() == 1 })
}

func TestReplicaSetCreatesManyPodsOnce(t *testing.T) {
	e := setup(t)
	rs, err := e.c.AppsV1().ReplicaSets("default").Create(e.ctx, replicaSet("big", 300, "big"), client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitOwned(rs.GetMetadata().GetUid(), 300)
	e.waitStatus("big", func(s *appsv1.ReplicaSetStatus) bool { return s.GetReplicas() == 300 })
	// Expectations keep a stale cache from creating more: the count holds.
	list, err := e.c.CoreV1().Pods("default").List(e.ctx, client.ListOptions{LabelSelector: "app=big"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetItems()); n != 300 {
		t.Fatalf("%d pods for 300 replicas", n)
	}
}

func TestNamespacesGetADefaultServiceAccount(t *testing.T) {
	e := setup(t)
	ns := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "shop"}}
	if _, err := e.c.CoreV1().Namespaces().Create(e.ctx, ns, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var first string
	framework.Eventually(t, 30*time.Second, "shop/default exists", func() error {
		sa, err := e.c.CoreV1().ServiceAccounts("shop").Get(e.ctx, "default")
		if err == nil {
			first = sa.GetMetadata().GetUid()
		}
		return err
	})
	if _, err := e.c.CoreV1().ServiceAccounts("shop").Delete(e.ctx, "default", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "shop/default is recreated", func() error {
		sa, err := e.c.CoreV1().ServiceAccounts("shop").Get(e.ctx, "default")
		if err != nil {
			return err
		}
		if sa.GetMetadata().GetUid() == first {
			return fmt.Errorf("still the old one")
		}
		return nil
	})
	for _, n := range []string{"default", "kube-system"} {
		if _, err := e.c.CoreV1().ServiceAccounts(n).Get(e.ctx, "default"); err != nil {
			t.Errorf("namespace %s: %v", n, err)
		}
	}
}
