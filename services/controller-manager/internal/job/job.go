// Package job runs each Job's pods to completion, as Kubernetes' Job
// controller does: it keeps up to parallelism pods running until
// completions of them succeed (each index of an Indexed Job once), replaces
// failed pods after an exponential back-off until backoffLimit (or an
// index's backoffLimitPerIndex) is passed, applies the pod failure and
// success policies, the active deadline and suspension, and reports it all
// in the Job's status and conditions. Every pod it creates carries the
// batch.kubernetes.io/job-tracking finalizer, which the controller removes
// only once the pod is counted (through status.uncountedTerminatedPods),
// so no finished pod is lost or counted twice.
package job

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "job"

// Kubernetes' bounds on one sync: pods created or deleted, and finished
// pods counted.
const (
	MaxPodCreateDeletePerSync = 500
	MaxUncountedPods          = 500
)

// managedBy is the spec.managedBy value (or its absence) this controller serves.
const managedBy = "kubernetes.io/job-controller"

// orphanPrefix marks the queue key of a pod whose Job is gone or finished
// and that still carries the tracking finalizer ("pod:ns/name"); no Job
// key has a colon.
const orphanPrefix = "pod:"

// Controller is the Job controller.
type Controller struct {
	*controller.Controller
	c    *client.Client
	jobs *informer.Informer[*batchv1.Job]
	pods *informer.Informer[*corev1.Pod]
	exp  *controller.Expectations
	// patchPod patches a pod by strategic merge.
	patchPod func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error)
	// finalizers are the pods whose finalizer removal the cache has not
	// shown yet, by Job key.
	finalizers *uidExpectations
	backoff    *backoffStore
	// finished holds the uids of Jobs this controller has marked
	// finished whose update the cache has not shown yet.
	finished sync.Map
	// written is, by Job key, the resourceVersion of the controller's
	// last status write: a cached Job older than that is stale, and a
	// sync of it would miss counts it has made (and create pods for them).
	written sync.Map
	// Events records pod creations, deletions and the Job's outcome (nil
	// records nothing).
	Events *events.Recorder
	// Clock tells the time (nil: the real clock).
	Clock clock.Clock
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	jc := &Controller{c: c, jobs: informers.For[*batchv1.Job, *batchv1.JobList](f), pods: f.Pods(),
		exp: controller.NewExpectations(), patchPod: controller.PodPatcher(c), finalizers: newUIDExpectations(), backoff: newBackoffStore()}
	jc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(jc.reconcile),
		Keys: jc.keys}
	jc.jobs.AddHandler(informer.Handler[*batchv1.Job]{
		OnAdd:    func(j *batchv1.Job) { jc.Enqueue(informer.KeyOf(j)) },
		OnUpdate: func(_, j *batchv1.Job) { jc.Enqueue(informer.KeyOf(j)) },
		OnDelete: jc.jobDeleted,
	})
	jc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: jc.podAdded, OnUpdate: jc.podUpdated, OnDelete: jc.podDeleted})
	return jc
}

func (jc *Controller) now() time.Time {
	if jc.Clock == nil {
		return time.Now()
	}
	return jc.Clock.Now()
}

// keys are every Job, and every pod still held by the finalizer of a Job
// that is gone.
func (jc *Controller) keys() []string {
	var out []string
	for _, j := range jc.jobs.Store().List() {
		out = append(out, informer.KeyOf(j))
	}
	for _, p := range jc.pods.Store().List() {
		if hasTrackingFinalizer(p) {
			if _, ok := jc.ownerKey(p); !ok {
				out = append(out, orphanPrefix+informer.KeyOf(p))
			}
		}
	}
	return out
}

func (jc *Controller) jobDeleted(j *batchv1.Job) {
	key := informer.KeyOf(j)
	jc.exp.Forget(key)
	jc.finalizers.forget(key)
	jc.written.Delete(key)
	jc.Enqueue(key)
	// Its pods may still carry the finalizer.
	for _, p := range jc.pods.Store().ByIndex(informer.IndexOwner, j.GetMetadata().GetUid()) {
		if hasTrackingFinalizer(p) {
			jc.Enqueue(orphanPrefix + informer.KeyOf(p))
		}
	}
}

// ownerKey is the key of the Job in the cache that controls the pod.
func (jc *Controller) ownerKey(p *corev1.Pod) (string, bool) {
	ref := controller.ControllerOf(p.GetMetadata())
	if ref == nil || ref.GetKind() != "Job" || !strings.HasPrefix(ref.GetApiVersion(), "batch/") {
		return "", false
	}
	key := p.GetMetadata().GetNamespace() + "/" + ref.GetName()
	j, ok := jc.jobs.Store().Get(key)
	if !ok || j.GetMetadata().GetUid() != ref.GetUid() {
		return "", false
	}
	return key, true
}

func (jc *Controller) podAdded(p *corev1.Pod) {
	if deleting(p) {
		jc.podDeleted(p)
		return
	}
	if key, ok := jc.ownerKey(p); ok {
		jc.exp.CreationObserved(key)
		jc.Enqueue(key)
		return
	}
	jc.orphan(p)
}

func (jc *Controller) podUpdated(old, p *corev1.Pod) {
	key, ok := jc.ownerKey(p)
	if ok && hasTrackingFinalizer(old) && !hasTrackingFinalizer(p) {
		jc.finalizers.observed(key, p.GetMetadata().GetUid())
	}
	if deleting(p) && !deleting(old) && ok {
		jc.exp.DeletionObserved(key, informer.KeyOf(p))
	}
	if oldKey, oldOK := jc.ownerKey(old); oldOK && oldKey != key {
		jc.Enqueue(oldKey)
	}
	if ok {
		jc.Enqueue(key)
		return
	}
	jc.orphan(p)
}

func (jc *Controller) podDeleted(p *corev1.Pod) {
	key, ok := jc.ownerKey(p)
	if !ok {
		jc.orphan(p)
		return
	}
	jc.exp.DeletionObserved(key, informer.KeyOf(p))
	jc.finalizers.observed(key, p.GetMetadata().GetUid())
	jc.Enqueue(key)
}

// orphan queues a pod that holds the tracking finalizer without a Job
// in the cache to count it.
func (jc *Controller) orphan(p *corev1.Pod) {
	if hasTrackingFinalizer(p) {
		jc.Enqueue(orphanPrefix + informer.KeyOf(p))
	}
}

// reconcile syncs a Job, or frees an orphan pod.
func (jc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	if podKey, ok := strings.CutPrefix(key, orphanPrefix); ok {
		return 0, jc.syncOrphan(ctx, podKey)
	}
	return jc.sync(ctx, key)
}

// syncOrphan removes the tracking finalizer from a pod whose Job is gone
// or finished: nobody will count it.
func (jc *Controller) syncOrphan(ctx context.Context, key string) error {
	p, ok := jc.pods.Store().Get(key)
	if !ok || !hasTrackingFinalizer(p) {
		return nil
	}
	if jobKey, ok := jc.ownerKey(p); ok {
		if j, _ := jc.jobs.Store().Get(jobKey); !finished(j) {
			return nil
		}
	}
	return jc.removeFinalizer(ctx, p)
}

// uidExpectations are pod uids whose finalizer removal is awaited, by Job key.
type uidExpectations struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

func newUIDExpectations() *uidExpectations { return &uidExpectations{m: map[string]map[string]bool{}} }

func (u *uidExpectations) expect(key string, uids []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.m[key]
	if s == nil {
		s = map[string]bool{}
		u.m[key] = s
	}
	for _, uid := range uids {
		s[uid] = true
	}
}

func (u *uidExpectations) observed(key, uid string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m[key], uid)
}

func (u *uidExpectations) get(key string) map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]bool, len(u.m[key]))
	for uid := range u.m[key] {
		out[uid] = true
	}
	return out
}

func (u *uidExpectations) forget(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, key)
}

// stale reports whether the cached Job predates the controller's last
// status write.
func (jc *Controller) stale(key string, j *batchv1.Job) bool {
	v, ok := jc.written.Load(key)
	if !ok {
		return false
	}
	rv, err := strconv.ParseInt(j.GetMetadata().GetResourceVersion(), 10, 64)
	return err == nil && rv < v.(int64)
}

// wrote records the resourceVersion of a status write.
func (jc *Controller) wrote(key string, j *batchv1.Job) {
	if rv, err := strconv.ParseInt(j.GetMetadata().GetResourceVersion(), 10, 64); err == nil {
		jc.written.Store(key, rv)
	}
}
