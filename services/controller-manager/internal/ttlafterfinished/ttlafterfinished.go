// Package ttlafterfinished deletes finished Jobs once their
// ttlSecondsAfterFinished has passed since they completed or failed, as
// Kubernetes' TTL-after-finished controller does: it checks the Job
// afresh from the apiserver before deleting it (the TTL may have changed),
// deletes it only if it is the same Job (a uid precondition), and deletes
// in the foreground, so the Job goes only after its pods.
package ttlafterfinished

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "ttl-after-finished"

// Controller is the TTL-after-finished controller.
type Controller struct {
	*controller.Controller
	c    *client.Client
	jobs *informer.Informer[*batchv1.Job]
	// Clock tells the time (nil: the real clock).
	Clock clock.Clock
}

// New wires the controller to the shared Job informer.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	tc := &Controller{c: c, jobs: informers.For[*batchv1.Job, *batchv1.JobList](f)}
	tc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(tc.reconcile),
		Keys: func() []string {
			var keys []string
			for _, j := range tc.jobs.Store().List() {
				if needsCleanup(j) {
					keys = append(keys, informer.KeyOf(j))
				}
			}
			return keys
		}}
	enqueue := func(j *batchv1.Job) {
		if j.GetMetadata().GetDeletionTimestamp() == nil && needsCleanup(j) {
			tc.Enqueue(informer.KeyOf(j))
		}
	}
	tc.jobs.AddHandler(informer.Handler[*batchv1.Job]{
		OnAdd:    enqueue,
		OnUpdate: func(_, j *batchv1.Job) { enqueue(j) },
	})
	return tc
}

func (tc *Controller) now() time.Time {
	if tc.Clock == nil {
		return time.Now()
	}
	return tc.Clock.Now()
}

// needsCleanup: the Job has a TTL and has finished.
func needsCleanup(j *batchv1.Job) bool {
	return j.GetSpec().TtlSecondsAfterFinished != nil && !finishTime(j).IsZero()
}

// finishTime is when the Job's Complete or Failed condition turned True.
func finishTime(j *batchv1.Job) time.Time {
	for _, c := range j.GetStatus().GetConditions() {
		if (c.GetType() == "Complete" || c.GetType() == "Failed") && c.GetStatus() == "True" && c.GetLastTransitionTime() != nil {
			return c.GetLastTransitionTime().AsTime()
		}
	}
	return time.Time{}
}

// TimeLeft is how long until a finished Job with a TTL expires (zero or
// less: it has); ok is false for a Job that is not to be cleaned up.
func TimeLeft(j *batchv1.Job, now time.Time) (left time.Duration, ok bool) {
	if j.GetMetadata().GetDeletionTimestamp() != nil || !needsCleanup(j) {
		return 0, false
	}
	expire := finishTime(j).Add(time.Duration(j.GetSpec().GetTtlSecondsAfterFinished()) * time.Second)
	return expire.Sub(now), true
}

// reconcile deletes one expired Job, or says when to look again.
func (tc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	j, ok := tc.jobs.Store().Get(key)
	if !ok {
		return 0, nil
	}
	left, ok := TimeLeft(j, tc.now())
	if !ok {
		return 0, nil
	}
	if left > 0 {
		return left, nil
	}
	// The cached TTL may be stale: decide on the Job as it is now.
	fresh, err := tc.c.BatchV1().Jobs(j.GetMetadata().GetNamespace()).Get(ctx, j.GetMetadata().GetName())
	switch {
	case client.IsNotFound(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("get job %s: %w", key, err)
	}
	if left, ok = TimeLeft(fresh, tc.now()); !ok {
		return 0, nil
	}
	if left > 0 {
		return left, nil
	}
	opts := &metav1.DeleteOptions{PropagationPolicy: proto.String("Foreground"),
		Preconditions: &metav1.Preconditions{Uid: proto.String(fresh.GetMetadata().GetUid())}}
	if _, err := tc.c.BatchV1().Jobs(fresh.GetMetadata().GetNamespace()).Delete(ctx, fresh.GetMetadata().GetName(), opts); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("delete expired job %s: %w", key, err)
	}
	return 0, nil
}
