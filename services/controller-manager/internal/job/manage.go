package job

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
)

// maxGeneratedNameLength is how long a generateName prefix may be
// (a name's 63 characters less the apiserver's 5 random ones).
const maxGeneratedNameLength = 58

// manage creates or deletes pods so parallelism of them run (fewer when
// fewer completions remain), and deletes every pod of a suspended Job. It
// returns the active count after its writes.
func (jc *Controller) manage(ctx context.Context, key string, s *syncState, now time.Time) (int32, error) {
	job := s.job
	active := int32(len(s.active))
	parallelism := job.GetSpec().GetParallelism()
	if suspended(job) {
		rmReady, rm, err := jc.deletePods(ctx, key, job, podsForRemoval(job, s.active, int(active)), true)
		s.terminating += rm
		s.ready -= rmReady
		return active - rm, err
	}
	var want int32
	if job.GetSpec().Completions == nil {
		want = parallelism
		if s.succeeded > 0 {
			want = active // leave what runs running
		}
	} else {
		want = max(min(job.GetSpec().GetCompletions()-s.succeeded, parallelism), 0)
	}
	victims := podsForRemoval(job, s.active, int(max(active-want, 0)))
	if len(victims) > MaxPodCreateDeletePerSync {
		victims = victims[:MaxPodCreateDeletePerSync]
	}
	if len(victims) > 0 {
		rmReady, rm, err := jc.deletePods(ctx, key, job, victims, true)
		s.terminating += rm
		s.ready -= rmReady
		return active - rm, err
	}
	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = s.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	if !hasBackoffLimitPerIndex(job) {
		if left := s.newBackoff.remaining(now); left > 0 {
			s.requeueAfter(left)
			return active, nil
		}
	}
	diff = min(diff, MaxPodCreateDeletePerSync)
	var indexes []int
	if isIndexed(job) {
		indexes = s.firstPendingIndexes(int(diff), int(job.GetSpec().GetCompletions()))
		if hasBackoffLimitPerIndex(job) {
			var left time.Duration
			if indexes, left = s.indexesReadyNow(indexes, now); left > 0 {
				s.requeueAfter(left)
				return active, nil
			}
		}
		diff = int32(len(indexes))
	}
	created, err := jc.createPods(ctx, key, s, indexes, int(diff))
	return active + int32(created), err
}

// indexesReadyNow keeps the indexes whose back-off has passed; when none
// has, it says how long until the first does.
func (s *syncState) indexesReadyNow(indexes []int, now time.Time) ([]int, time.Duration) {
	var ready []int
	var least time.Duration
	for _, ix := range indexes {
		last := s.delayedPerIndex[ix]
		left := time.Duration(0)
		if last != nil {
			left = backoffRemaining(now, absoluteFailures(last)+1, finishedAt(last))
		}
		if left == 0 {
			ready = append(ready, ix)
		} else if least == 0 || left < least {
			least = left
		}
	}
	if len(ready) > 0 {
		return ready, 0
	}
	return nil, least
}

// OwnerReference is the controller reference a Job puts on its pods.
func OwnerReference(j *batchv1.Job) *metav1.OwnerReference {
	return controller.OwnerReference("batch/v1", "Job", j.GetMetadata())
}

// NewPod is the pod a Job creates for an index (noIndex for a NonIndexed
// Job): its template, the tracking finalizer, and for an index the
// completion-index annotation and label, JOB_COMPLETION_INDEX in every
// container, the hostname <job>-<index> and the name prefix <job>-<index>-.
func NewPod(j *batchv1.Job, index int, replaced *corev1.Pod) *corev1.Pod {
	tmpl := j.GetSpec().GetTemplate()
	meta, _ := proto.Clone(tmpl.GetMetadata()).(*metav1.ObjectMeta)
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	spec, _ := proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)
	if spec == nil {
		spec = &corev1.PodSpec{}
	}
	name := j.GetMetadata().GetName()
	meta.Name, meta.Namespace = "", j.GetMetadata().GetNamespace()
	meta.GenerateName = name + "-"
	meta.OwnerReferences = []*metav1.OwnerReference{OwnerReference(j)}
	meta.Finalizers = append(meta.Finalizers, TrackingFinalizer)
	if index != noIndex {
		ix := strconv.Itoa(index)
		if meta.Annotations == nil {
			meta.Annotations = map[string]string{}
		}
		if meta.Labels == nil {
			meta.Labels = map[string]string{}
		}
		meta.Annotations[CompletionIndexAnnotation] = ix
		meta.Labels[CompletionIndexAnnotation] = ix
		if hasBackoffLimitPerIndex(j) {
			counted, ignored := newIndexFailureCounts(j, replaced)
			meta.Annotations[IndexFailureCountAnnotation] = strconv.Itoa(int(counted))
			if ignored > 0 {
				meta.Annotations[IndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
			}
		}
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			addIndexEnv(c)
		}
		spec.Hostname = proto.String(name + "-" + ix)
		suffix := "-" + ix + "-"
		meta.GenerateName = name + suffix
		if len(meta.GenerateName) > maxGeneratedNameLength {
			meta.GenerateName = name[:maxGeneratedNameLength-len(suffix)] + suffix
		}
	}
	return &corev1.Pod{Metadata: meta, Spec: spec}
}

// addIndexEnv gives a container JOB_COMPLETION_INDEX from the pod's
// completion-index label, as Kubernetes 1.34 does, unless it sets it.
func addIndexEnv(c *corev1.Container) {
	for _, e := range c.GetEnv() {
		if e.GetName() == completionIndexEnv {
			return
		}
	}
	c.Env = append(c.Env, &corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.labels['" + CompletionIndexAnnotation + "']"}}})
}

// createPods creates n pods (one per index for an Indexed Job) in
// batches that double while they succeed, so a create that fails (quota,
// a terminating namespace) costs one call rather than n. It returns how
// many it created.
func (jc *Controller) createPods(ctx context.Context, key string, s *syncState, indexes []int, n int) (int, error) {
	job := s.job
	jc.exp.ExpectCreates(key, n)
	created, err := controller.SlowStart(n, func(i int) error {
		ix := noIndex
		if indexes != nil {
			ix = indexes[i]
		}
		return jc.createPod(ctx, job, NewPod(job, ix, s.delayedPerIndex[ix]))
	})
	for range n - created {
		jc.exp.CreationObserved(key) // failed or skipped: never coming
	}
	return created, err
}

func (jc *Controller) createPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	pc := controller.PodControl{Client: jc.c, Events: jc.Events, QuietTerminating: true} // every later create fails the same way
	if err := pc.CreatePod(ctx, job, pod); err != nil {
		return fmt.Errorf("create pod for job %s: %w", informer.KeyOf(job), err)
	}
	return nil
}

// deletePods deletes pods gracefully and returns how many it deleted and
// how many of those were ready. Pods a finished Job deletes keep their
// finalizers and are counted as they end; pods the Job no longer wants
// (expect: too many, or suspended) lose it first, so they are not counted
// as failures, and their deletions are expected.
func (jc *Controller) deletePods(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod, expect bool) (int32, int32, error) {
	var ready, deleted atomic.Int32
	pc := controller.PodControl{Client: jc.c, Events: jc.Events, Key: key, GoneShowsInInformer: true,
		Deleted: func(p *corev1.Pod) {
			deleted.Add(1)
			if isReady(p) {
				ready.Add(1)
			}
		}}
	if expect {
		if len(pods) > 0 {
			jc.exp.ExpectDeletes(key, controller.PodKeys(pods))
		}
		pc.Expectations, pc.Before = jc.exp, jc.removeFinalizer
	}
	err := pc.DeletePods(ctx, job, pods)
	return ready.Load(), deleted.Load(), err
}

// The tracking finalizer goes with the Job's controller reference: added
// on adoption, removed on release.
var (
	adoptPatch   = fmt.Sprintf(`"finalizers":[%q]`, TrackingFinalizer)
	releasePatch = fmt.Sprintf(`"$deleteFromPrimitiveList/finalizers":[%q]`, TrackingFinalizer)
)

// claim returns the pods the Job controls, adopting matching orphans
// (with the tracking finalizer) and releasing pods that stopped matching
// (without it).
func (jc *Controller) claim(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	m := controller.RefManager[*corev1.Pod]{Owner: job.GetMetadata(), Ref: OwnerReference(job), Selector: job.GetSpec().GetSelector(),
		Patch: jc.patchPod, AdoptError: "adopt pod", ReleaseError: "release pod",
		AdoptPatch: adoptPatch, ReleasePatch: releasePatch}
	return m.Claim(ctx, jc.pods.Store().ByIndex(informer.IndexNamespace, job.GetMetadata().GetNamespace()))
}

// removeFinalizer drops the tracking finalizer from a pod; a pod that is
// gone already counts as done.
func (jc *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	if !hasTrackingFinalizer(p) {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, TrackingFinalizer)
	_, err := jc.c.CoreV1().Pods(p.GetMetadata().GetNamespace()).Patch(ctx, p.GetMetadata().GetName(), client.StrategicPatch, []byte(patch), client.WriteOptions{}, "")
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("remove tracking finalizer from pod %s: %w", informer.KeyOf(p), err)
	}
	return nil
}

// releaseAll frees the pods of a finished Job that still carry the
// finalizer: the Job has counted everything it will.
func (jc *Controller) releaseAll(ctx context.Context, job *batchv1.Job) error {
	var errs []error
	for _, p := range jc.pods.Store().ByIndex(informer.IndexOwner, job.GetMetadata().GetUid()) {
		if err := jc.removeFinalizer(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
