// Package disruption is the disruption controller: it keeps each
// PodDisruptionBudget's status (expectedPods, currentHealthy,
// desiredHealthy, disruptionsAllowed, observedGeneration and the
// DisruptionAllowed condition) so that the eviction subresource can grant
// or refuse evictions, and forgets the budget's disruptedPods entries of
// pods that are gone or whose eviction did not happen within two
// minutes. The expected pods are the replicas of the pods' controllers:
// a Deployment's or ReplicaSet's from the informers, any other kind's
// (StatefulSet, ReplicationController, custom resources) through its
// scale subresource. A pod whose eviction was granted but which was not
// deleted loses its DisruptionTarget condition after two minutes.
package disruption

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/disruptionbudget"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "disruption"

// DeletionTimeout is how long a granted eviction may take: a pod still
// there after it counts again, and its disruptedPods entry goes.
const DeletionTimeout = 2 * time.Minute

// StalePodDisruptionTimeout is how long a pod that is not being deleted
// keeps a DisruptionTarget condition before it is set back to False.
const StalePodDisruptionTimeout = 2 * time.Minute

// failedSyncRetry is when a budget whose status could not be computed is
// looked at again when nothing else changes.
const failedSyncRetry = 15 * time.Second

// Controller is the disruption controller.
type Controller struct {
	*controller.Controller
	// stale resets the DisruptionTarget condition of pods that were not
	// deleted, by pod key.
	stale *controller.Controller

	c      *client.Client
	pdbs   *informer.Informer[*policyv1.PodDisruptionBudget]
	pods   *informer.Informer[*corev1.Pod]
	rss    *informer.Informer[*appsv1.ReplicaSet]
	deps   *informer.Informer[*appsv1.Deployment]
	scales *scales

	// Events records NoPods, CalculateExpectedPodCountFailed and the
	// other events Kubernetes' controller records (nil records nothing).
	Events *events.Recorder
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	dc := &Controller{c: c, pods: f.Pods(), rss: f.ReplicaSets(), deps: f.Deployments(),
		pdbs:   informers.For[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList](f),
		scales: newScales(c)}
	dc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(dc.reconcile),
		Keys: func() []string { return keys(dc.pdbs.Store().List()) }}
	dc.stale = &controller.Controller{Name: Name + "-stale-pods", Workers: 1, Reconciler: controller.ReconcileFunc(dc.resetStale),
		Keys: dc.stalePods}
	enqueue := func(pdb *policyv1.PodDisruptionBudget) { dc.Enqueue(informer.KeyOf(pdb)) }
	dc.pdbs.AddHandler(informer.Handler[*policyv1.PodDisruptionBudget]{
		OnAdd: enqueue, OnUpdate: func(_, pdb *policyv1.PodDisruptionBudget) { enqueue(pdb) }, OnDelete: enqueue,
	})
	dc.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    dc.podChanged,
		OnUpdate: func(_, pod *corev1.Pod) { dc.podChanged(pod) },
		OnDelete: dc.enqueueBudgets,
	})
	return dc
}

// Run works both queues until ctx ends.
func (dc *Controller) Run(ctx context.Context) error {
	dc.stale.Observe = dc.Observe
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return dc.Controller.Run(ctx) })
	g.Go(func() error { return dc.stale.Run(ctx) })
	return g.Wait()
}

func (dc *Controller) now() time.Time {
	if dc.Now != nil {
		return dc.Now()
	}
	return time.Now()
}

func keys(pdbs []*policyv1.PodDisruptionBudget) []string {
	out := make([]string, len(pdbs))
	for i, pdb := range pdbs {
		out[i] = informer.KeyOf(pdb)
	}
	return out
}

func (dc *Controller) podChanged(pod *corev1.Pod) {
	budgets := dc.budgetsOf(pod)
	for _, pdb := range budgets {
		dc.Enqueue(informer.KeyOf(pdb))
	}
	if len(budgets) > 1 {
		m := pod.GetMetadata()
		dc.Events.Eventf(pod, events.Warning, "MultiplePodDisruptionBudgets", "Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.",
			m.GetNamespace(), m.GetName(), budgets[0].GetMetadata().GetName())
	}
	if stale, after := dc.staleDisruption(pod); stale {
		dc.stale.EnqueueAfter(informer.KeyOf(pod), after)
	}
}

// enqueueBudgets queues the budgets that select the pod.
func (dc *Controller) enqueueBudgets(pod *corev1.Pod) {
	for _, pdb := range dc.budgetsOf(pod) {
		dc.Enqueue(informer.KeyOf(pdb))
	}
}

func (dc *Controller) budgetsOf(pod *corev1.Pod) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, pdb := range dc.pdbs.Store().ByIndex(informer.IndexNamespace, pod.GetMetadata().GetNamespace()) {
		if labels.Matches(pdb.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			out = append(out, pdb)
		}
	}
	return out
}

// podsOf are the pods the budget selects (a budget without a selector
// selects none).
func (dc *Controller) podsOf(pdb *policyv1.PodDisruptionBudget) []*corev1.Pod {
	var out []*corev1.Pod
	for _, pod := range dc.pods.Store().ByIndex(informer.IndexNamespace, pdb.GetMetadata().GetNamespace()) {
		if labels.Matches(pdb.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			out = append(out, pod)
		}
	}
	return out
}

// reconcile brings one budget's status up to date; a budget whose status
// cannot be computed allows no disruption (SyncFailed) until it can.
func (dc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	pdb, ok := dc.pdbs.Store().Get(key)
	if !ok {
		return 0, nil
	}
	after, err := dc.sync(ctx, pdb)
	switch {
	case err == nil:
		return after, nil
	case client.IsConflict(err) || errors.Is(err, context.Canceled):
		return 0, err
	}
	if err := dc.failSafe(ctx, pdb, err); err != nil {
		return 0, err
	}
	return failedSyncRetry, nil
}

func (dc *Controller) sync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (time.Duration, error) {
	pods := dc.podsOf(pdb)
	if len(pods) == 0 {
		dc.Events.Eventf(pdb, events.Normal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := dc.expectedPodCount(ctx, pdb, pods)
	if err != nil {
		dc.Events.Eventf(pdb, events.Warning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return 0, err
	}
	if len(unmanaged) > 0 {
		dc.Events.Eventf(pdb, events.Warning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", selectorText(pdb.GetSpec().GetSelector()))
	}
	now := dc.now()
	disrupted, recheck := dc.disruptedPods(pods, pdb, now)
	healthy := countHealthy(pods, disrupted, now)
	if err := dc.writeStatus(ctx, pdb, healthy, desired, expected, disrupted, now); err != nil {
		return 0, err
	}
	if recheck.IsZero() {
		return 0, nil
	}
	return recheck.Sub(now), nil
}

// failSafe allows no disruption and says why in the condition.
func (dc *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	next := clone(pdb)
	next.Status.DisruptionsAllowed = 0
	disruptionbudget.SetCondition(next, &metav1.Condition{Type: disruptionbudget.ConditionDisruptionAllowed, Status: "False",
		Reason: disruptionbudget.ReasonSyncFailed, Message: cause.Error()}, dc.now())
	if _, err := dc.c.PolicyV1().PodDisruptionBudgets(next.GetMetadata().GetNamespace()).UpdateStatus(ctx, next, client.WriteOptions{}); err != nil {
		return fmt.Errorf("write the status of poddisruptionbudget %s: %w", informer.KeyOf(pdb), err)
	}
	return nil
}
