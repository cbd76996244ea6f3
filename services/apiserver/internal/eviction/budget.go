package eviction

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/disruptionbudget"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// takeDisruption spends one of the budget's allowed disruptions on the
// pod, in one write of the budget's status that conflicts with any other
// write since pdb was read; a conflict reads the budget again and tries
// again. A dry run checks and writes nothing.
func (e *Evictor) takeDisruption(ctx context.Context, pod *corev1.Pod, pdb *policyv1.PodDisruptionBudget, dryRun bool) error {
	name := pdb.GetMetadata().GetName()
	for attempt := 1; ; attempt++ {
		err := e.checkAndDecrement(ctx, pod.GetMetadata().GetName(), pdb, dryRun)
		if !apierrors.IsConflict(err) {
			return err
		}
		if attempt == attempts {
			return apierrors.NewTimeout(fmt.Sprintf("couldn't update PodDisruptionBudget %q due to conflicts", name))
		}
		if err := pause(ctx); err != nil {
			return err
		}
		obj, err := e.Budgets.Get(ctx, pod.GetMetadata().GetNamespace(), name, registry.GetOptions{})
		if err != nil {
			return err
		}
		pdb = obj.(*policyv1.PodDisruptionBudget)
	}
}

func (e *Evictor) checkAndDecrement(ctx context.Context, podName string, pdb *policyv1.PodDisruptionBudget, dryRun bool) error {
	name := pdb.GetMetadata().GetName()
	st := pdb.GetStatus()
	switch {
	case st.GetObservedGeneration() < pdb.GetMetadata().GetGeneration():
		return tooManyRequests(name, 10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", name))
	case st.GetDisruptionsAllowed() < 0:
		return apierrors.NewForbidden(budgetResource, name, "pdb disruptions allowed is negative")
	case len(st.GetDisruptedPods()) > maxDisruptedPods:
		return apierrors.NewForbidden(budgetResource, name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
	case st.GetDisruptionsAllowed() == 0:
		return tooManyRequests(name, 0, fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
			name, st.GetDesiredHealthy(), st.GetCurrentHealthy()))
	}
	if dryRun {
		return nil
	}
	next := proto.Clone(pdb).(*policyv1.PodDisruptionBudget)
	now := e.now()
	next.Status.DisruptionsAllowed--
	if next.Status.DisruptionsAllowed == 0 {
		disruptionbudget.UpdateDisruptionAllowed(next, now)
	}
	if next.Status.DisruptedPods == nil {
		next.Status.DisruptedPods = map[string]*timestamppb.Timestamp{}
	}
	// The controller stops counting the pod as healthy, and forgets the
	// entry if the pod is still there after its timeout.
	next.Status.DisruptedPods[podName] = timestamppb.New(now.Truncate(time.Second))
	_, err := e.Budgets.UpdateStatus(ctx, next, registry.UpdateOptions{Subresource: "status"})
	return err
}

// markAndDelete gives the pod the DisruptionTarget condition (unless this
// is a dry run) and deletes it with opts; the condition's write moves a
// resourceVersion precondition along.
func (e *Evictor) markAndDelete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions) error {
	if len(opts.GetDryRun()) == 0 {
		out, err := e.Pods.Mutate(ctx, ns, name, func(cur proto.Message) (proto.Message, error) {
			pod := cur.(*corev1.Pod)
			if err := preconditions(pod, opts); err != nil {
				return nil, err
			}
			setCondition(pod, &corev1.PodCondition{Type: "DisruptionTarget", Status: "True",
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}, e.now())
			return pod, nil
		})
		if err != nil {
			return err
		}
		if hasResourceVersion(opts) {
			opts = withResourceVersion(opts, out.(*corev1.Pod).GetMetadata().GetResourceVersion())
		}
	}
	_, err := e.Pods.Delete(ctx, ns, name, opts)
	return err
}

// podResource names pods in the precondition conflicts as Kubernetes'
// eviction does.
var podResource = apierrors.Resource{Resource: "Pod"}

func preconditions(pod *corev1.Pod, opts *metav1.DeleteOptions) error {
	pre := opts.GetPreconditions()
	m := pod.GetMetadata()
	if pre.GetUid() != "" && pre.GetUid() != m.GetUid() {
		return apierrors.NewConflict(podResource, m.GetName(), fmt.Sprintf(
			"the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", pre.GetUid(), m.GetUid()))
	}
	if pre.GetResourceVersion() != "" && pre.GetResourceVersion() != m.GetResourceVersion() {
		return apierrors.NewConflict(podResource, m.GetName(), fmt.Sprintf(
			"the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", pre.GetResourceVersion(), m.GetResourceVersion()))
	}
	return nil
}

// setCondition sets a pod condition as Kubernetes' UpdatePodCondition
// does: the transition time moves only when the status changes.
func setCondition(pod *corev1.Pod, c *corev1.PodCondition, now time.Time) {
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	c.LastTransitionTime = timestamppb.New(now.Truncate(time.Second))
	for i, old := range pod.Status.Conditions {
		if old.GetType() != c.GetType() {
			continue
		}
		if old.GetStatus() == c.GetStatus() {
			c.LastTransitionTime = old.GetLastTransitionTime()
		}
		pod.Status.Conditions[i] = c
		return
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}
