// Package eviction serves pods/eviction, the voluntary deletion of a pod
// within its PodDisruptionBudget, with Kubernetes' rules:
//
//   - a pod that has finished, is Pending or is already being deleted is
//     deleted without looking at budgets;
//   - a pod no budget selects is deleted; one that more than one selects
//     is refused with a 500;
//   - otherwise the budget's status.disruptionsAllowed is checked and
//     decremented, and the pod recorded in status.disruptedPods, in one
//     compare-and-swap write of the budget (conflicts are retried); no
//     disruption left is a 429 TooManyRequests whose DisruptionBudget
//     cause says why;
//   - a pod that is not Ready is deleted without using the budget when
//     the budget's unhealthyPodEvictionPolicy is AlwaysAllow, or when the
//     budget has all the healthy pods it wants (IfHealthyBudget), guarded
//     by the pod's resourceVersion so that a pod turning Ready meanwhile
//     is not deleted;
//   - the pod gets the DisruptionTarget condition (reason
//     EvictionByEvictionAPI) before it is deleted with the eviction's
//     deleteOptions.
//
// A dry run checks everything and writes nothing.
package eviction

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/disruptionbudget"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Kubernetes' limit on status.disruptedPods: beyond it the controller has
// fallen behind, and evictions wait.
const maxDisruptedPods = 2000

// attempts and retryDelay bound the retries of conflicting writes.
const (
	attempts   = 20
	retryDelay = 200 * time.Millisecond
)

// Pods is what an eviction does to pods.
type Pods interface {
	Get(ctx context.Context, namespace, name string, opts registry.GetOptions) (proto.Message, error)
	Mutate(ctx context.Context, namespace, name string, f func(current proto.Message) (proto.Message, error)) (proto.Message, error)
	Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (proto.Message, error)
}

// Evictor evicts pods within the budgets of their namespace.
type Evictor struct {
	Pods    Pods
	Budgets registry.Backend
	// Now is the clock of disruptedPods and conditions; nil is time.Now.
	Now func() time.Time
}

var budgetResource = apierrors.Resource{Group: "policy", Resource: "poddisruptionbudget"}

func (e *Evictor) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Evict evicts the pod ev names; dryRun (the request's) adds to the dry
// run of ev's deleteOptions.
func (e *Evictor) Evict(ctx context.Context, ev *policyv1.Eviction, dryRun bool) error {
	ns, name := ev.GetMetadata().GetNamespace(), ev.GetMetadata().GetName()
	del := &metav1.DeleteOptions{}
	if ev.GetDeleteOptions() != nil {
		del = proto.Clone(ev.GetDeleteOptions()).(*metav1.DeleteOptions)
	}
	if dryRun && len(del.GetDryRun()) == 0 {
		del.DryRun = []string{"All"}
	}
	pod, done, err := e.bypass(ctx, ns, name, del)
	if err != nil || done {
		return err
	}
	budgets, err := e.covering(ctx, pod)
	if err != nil {
		return err
	}
	if len(budgets) > 1 {
		return apierrors.NewFailure(500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
	}
	guarded := false
	budgetName := ""
	if len(budgets) == 1 {
		pdb := budgets[0]
		budgetName = pdb.GetMetadata().GetName()
		guarded = unhealthyMayGo(pod, pdb)
		if !guarded {
			if err := e.takeDisruption(ctx, pod, pdb, len(del.GetDryRun()) > 0); err != nil {
				return err
			}
		}
	}
	opts := del
	if guarded {
		opts = withResourceVersion(del, pod.GetMetadata().GetResourceVersion())
	}
	err = e.markAndDelete(ctx, ns, name, opts)
	if err != nil && guarded && apierrors.IsConflict(err) && !hasResourceVersion(del) {
		// The pod changed (it may have turned Ready): the client tries
		// again, and the budget is asked again.
		return tooManyRequests(budgetName, 10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", budgetName))
	}
	return err
}

// bypass deletes a pod that needs no budget (finished, Pending, or being
// deleted), retrying conflicts unless the client gave a resourceVersion;
// done reports that it did. Otherwise it returns the pod.
func (e *Evictor) bypass(ctx context.Context, ns, name string, del *metav1.DeleteOptions) (pod *corev1.Pod, done bool, err error) {
	for attempt := 1; ; attempt++ {
		obj, err := e.Pods.Get(ctx, ns, name, registry.GetOptions{})
		if err != nil {
			return nil, false, err
		}
		pod = obj.(*corev1.Pod)
		if !ignoresBudgets(pod) {
			return pod, false, nil
		}
		opts := del
		if enforceResourceVersion(pod) && !hasResourceVersion(del) {
			// Not racing a pod that turns Running and healthy meanwhile.
			opts = withResourceVersion(del, pod.GetMetadata().GetResourceVersion())
		}
		err = e.markAndDelete(ctx, ns, name, opts)
		if err == nil {
			return pod, true, nil
		}
		if !apierrors.IsConflict(err) || hasResourceVersion(del) || attempt == attempts {
			return nil, false, err
		}
		if err := pause(ctx); err != nil {
			return nil, false, err
		}
	}
}

// ignoresBudgets: a pod that has finished, has not started or is already
// going has caused (or causes) no disruption a budget counts.
func ignoresBudgets(pod *corev1.Pod) bool {
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed", "Pending":
		return true
	}
	return pod.GetMetadata().GetDeletionTimestamp() != nil
}

func enforceResourceVersion(pod *corev1.Pod) bool {
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false
	}
	return pod.GetMetadata().GetDeletionTimestamp() == nil
}

// unhealthyMayGo tells whether a pod that is not Ready may be deleted
// without using the budget: always under AlwaysAllow, and under
// IfHealthyBudget (the default) when the budget has the healthy pods it
// wants.
func unhealthyMayGo(pod *corev1.Pod, pdb *policyv1.PodDisruptionBudget) bool {
	if disruptionbudget.PodReady(pod) {
		return false
	}
	if pdb.GetSpec().GetUnhealthyPodEvictionPolicy() == disruptionbudget.AlwaysAllow {
		return true
	}
	st := pdb.GetStatus()
	return st.GetCurrentHealthy() >= st.GetDesiredHealthy() && st.GetDesiredHealthy() > 0
}

// covering are the budgets of the pod's namespace whose selector selects
// it.
func (e *Evictor) covering(ctx context.Context, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	obj, err := e.Budgets.List(ctx, pod.GetMetadata().GetNamespace(), registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, pdb := range obj.(*policyv1.PodDisruptionBudgetList).GetItems() {
		if labels.Matches(pdb.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			out = append(out, pdb)
		}
	}
	return out, nil
}

func pause(ctx context.Context) error {
	d := retryDelay + time.Duration(rand.Int64N(int64(retryDelay/10)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func hasResourceVersion(o *metav1.DeleteOptions) bool {
	return o.GetPreconditions() != nil && o.GetPreconditions().ResourceVersion != nil
}

func withResourceVersion(o *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	out := proto.Clone(o).(*metav1.DeleteOptions)
	if out.Preconditions == nil {
		out.Preconditions = &metav1.Preconditions{}
	}
	out.Preconditions.ResourceVersion = proto.String(rv)
	return out
}

func tooManyRequests(budget string, retryAfter int32, why string) error {
	return apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", retryAfter,
		&metav1.StatusCause{Reason: "DisruptionBudget", Message: why})
}
