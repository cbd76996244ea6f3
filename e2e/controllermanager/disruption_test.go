package controllermanager

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

var poolGVR = schema.GroupVersionResource{Group: "e2e.skiff.dev", Version: "v1", Resource: "pools"}

// poolCRD is a kind with the scale subresource, as a custom workload
// controller's would be.
const poolCRD = `{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "pools.e2e.skiff.dev"},
  "spec": {
    "group": "e2e.skiff.dev",
    "scope": "Namespaced",
    "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}},
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
  }
}`

type budgetEnv struct {
	t   *testing.T
	ctx context.Context
	cs  *kubernetes.Clientset
}

// pod makes a pod on node-a (the stand-in kubelet reports it Running and
// Ready) controlled by owner.
func (e *budgetEnv) pod(name, app string, owner metav1.OwnerReference) {
	e.t.Helper()
	yes := true
	owner.Controller = &yes
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}, OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "registry.local/c:v1"}}}}
	if _, err := e.cs.CoreV1().Pods("default").Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
}

func (e *budgetEnv) budget(name, app string, spec policyv1.PodDisruptionBudgetSpec) {
	e.t.Helper()
	spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if _, err := e.cs.PolicyV1().PodDisruptionBudgets("default").Create(e.ctx, pdb, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create budget %s: %v", name, err)
	}
}

// status waits until the budget's status satisfies ok.
func (e *budgetEnv) status(name, what string, ok func(policyv1.PodDisruptionBudgetStatus, int64) bool) {
	e.t.Helper()
	framework.Eventually(e.t, 60*time.Second, "budget "+name+": "+what, func() error {
		pdb, err := e.cs.PolicyV1().PodDisruptionBudgets("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !ok(pdb.Status, pdb.Generation) {
			st, _ := json.Marshal(pdb.Status)
			return fmt.Errorf("status %s", st)
		}
		return nil
	})
}

// event waits for an event about the budget with the reason and message.
func (e *budgetEnv) event(name, reason, message string) {
	e.t.Helper()
	framework.Eventually(e.t, 60*time.Second, fmt.Sprintf("a %s event about budget %s", reason, name), func() error {
		list, err := e.cs.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=PodDisruptionBudget,involvedObject.name=" + name})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.Reason == reason && ev.Message == message && ev.Source.Component == "controllermanager" {
				return nil
			}
			seen = append(seen, ev.Reason+": "+ev.Message)
		}
		return fmt.Errorf("events %q", seen)
	})
}

func condition(st policyv1.PodDisruptionBudgetStatus) *metav1.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == "DisruptionAllowed" {
			return &st.Conditions[i]
		}
	}
	return nil
}

// TestDisruptionController: the disruption controller keeps budgets'
// status from their pods and the replicas of the pods' controller (here
// a custom resource, through its scale subresource), says why when it
// cannot, and records Kubernetes' events.
func TestDisruptionController(t *testing.T) {
	e0 := setup(t, "--controllers=serviceaccount,disruption")
	framework.StartStandInKubelet(t, e0.c, "node-a")
	cfg := e0.srv.RESTConfig()
	e := &budgetEnv{t: t, ctx: e0.ctx, cs: kubernetes.NewForConfigOrDie(cfg)}
	dyn := dynamic.NewForConfigOrDie(cfg)
	var crd unstructured.Unstructured
	if err := json.Unmarshal([]byte(poolCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	framework.CreateCRD(e.ctx, t, dyn, &crd)
	pool, err := dyn.Resource(poolGVR).Namespace("default").Create(e.ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "e2e.skiff.dev/v1", "kind": "Pool", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"size": int64(3)}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the Pool: %v", err)
	}
	owner := metav1.OwnerReference{APIVersion: "e2e.skiff.dev/v1", Kind: "Pool", Name: "p", UID: pool.GetUID()}
	e.pod("pool-1", "pool", owner)
	e.pod("pool-2", "pool", owner)
	one := intstr.FromInt32(1)
	e.budget("pool", "pool", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one})

	t.Run("the expected pods are the custom controller's scale", func(t *testing.T) {
		e.status("pool", "3 expected, 2 of 2 desired healthy, no disruption", func(st policyv1.PodDisruptionBudgetStatus, gen int64) bool {
			c := condition(st)
			return st.ExpectedPods == 3 && st.DesiredHealthy == 2 && st.CurrentHealthy == 2 && st.DisruptionsAllowed == 0 &&
				st.ObservedGeneration == gen && c != nil && c.Status == "False" && c.Reason == "InsufficientPods"
		})
		e.pod("pool-3", "pool", owner)
		e.status("pool", "3 healthy, one disruption", func(st policyv1.PodDisruptionBudgetStatus, _ int64) bool {
			c := condition(st)
			return st.CurrentHealthy == 3 && st.DisruptionsAllowed == 1 && c != nil && c.Status == "True" && c.Reason == "SufficientPods"
		})
		// Scaling the Pool up changes what the budget expects.
		if _, err := dyn.Resource(poolGVR).Namespace("default").Patch(e.ctx, "p", types.MergePatchType, []byte(`{"spec":{"size":4}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		// A pod change makes the controller look again.
		if _, err := e.cs.CoreV1().Pods("default").Patch(e.ctx, "pool-1", types.MergePatchType, []byte(`{"metadata":{"labels":{"touched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.status("pool", "4 expected, 3 desired", func(st policyv1.PodDisruptionBudgetStatus, _ int64) bool {
			return st.ExpectedPods == 4 && st.DesiredHealthy == 3 && st.DisruptionsAllowed == 0
		})
	})

	t.Run("a controller without scale fails the sync safely", func(t *testing.T) {
		cm, err := e.cs.CoreV1().ConfigMaps("default").Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.pod("odd-1", "odd", metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: cm.UID})
		half := intstr.FromString("50%")
		e.budget("odd", "odd", policyv1.PodDisruptionBudgetSpec{MinAvailable: &half})
		e.status("odd", "SyncFailed", func(st policyv1.PodDisruptionBudgetStatus, _ int64) bool {
			c := condition(st)
			return st.DisruptionsAllowed == 0 && c != nil && c.Status == "False" && c.Reason == "SyncFailed" &&
				c.Message == "configmaps does not implement the scale subresource"
		})
		e.event("odd", "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: configmaps does not implement the scale subresource")
	})

	t.Run("a budget selecting no pod", func(t *testing.T) {
		two := intstr.FromInt32(2)
		e.budget("none", "none", policyv1.PodDisruptionBudgetSpec{MinAvailable: &two})
		e.status("none", "nothing expected", func(st policyv1.PodDisruptionBudgetStatus, gen int64) bool {
			return st.ObservedGeneration == gen && st.ExpectedPods == 0 && st.DesiredHealthy == 2 && st.DisruptionsAllowed == 0
		})
		e.event("none", "NoPods", "No matching pods found")
	})
}
