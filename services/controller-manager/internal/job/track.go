package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
)

// trackStatus counts finished pods, in two steps that survive a crash
// between them: their uids go to status.uncountedTerminatedPods (written
// first), then their finalizers are removed, then the uids move into the
// succeeded and failed counters. A pod is counted exactly once: while its
// uid is listed it is not added again, and once its finalizer is gone it
// is never looked at again. When the Job has ended and every pod is
// counted and gone, the Complete or Failed condition is set.
func (jc *Controller) trackStatus(ctx context.Context, key string, s *syncState, needsFlush bool, now time.Time) error {
	job := s.job
	st := job.Status
	indexed := isIndexed(job)
	if indexed {
		sort.SliceStable(s.pods, func(i, k int) bool { return completionIndex(s.pods[i]) < completionIndex(s.pods[k]) })
	}
	withFinalizer := map[string]bool{}
	for _, p := range s.pods {
		if uid := p.GetMetadata().GetUid(); hasTrackingFinalizer(p) && !s.expectedRm[uid] {
			withFinalizer[uid] = true
		}
	}
	if countUncounted(st, withFinalizer) {
		needsFlush = true
	}
	u := st.UncountedTerminatedPods
	var toRelease []*corev1.Pod
	var newSucceededIdx []int
	full := false
	for _, p := range s.pods {
		uid := p.GetMetadata().GetUid()
		if !hasTrackingFinalizer(p) || s.expectedRm[uid] {
			continue // counted in an earlier sync
		}
		failed := isFailed(p, job)
		if !s.canRelease(p, failed) {
			continue
		}
		toRelease = append(toRelease, p)
		switch {
		case phase(p) == "Succeeded" && !s.uncountedFailed[uid]:
			if indexed {
				// The index is enough to count a success once.
				if ix := completionIndex(p); validIndex(p, job) && !s.prevSucceededIdx.has(ix) {
					newSucceededIdx = append(newSucceededIdx, ix)
					needsFlush = true
				}
			} else if !s.uncountedSucceeded[uid] {
				u.Succeeded = append(u.Succeeded, uid)
				s.uncountedSucceeded[uid] = true
				needsFlush = true
			}
		case failed || s.finishedCond != nil && s.finishedCond.GetType() != "SuccessCriteriaMet":
			// Once the Job has failed, every pod that did not succeed failed.
			if s.uncountedFailed[uid] || indexed && !validIndex(p, job) {
				break
			}
			if matchPodFailurePolicy(job.GetSpec().GetPodFailurePolicy(), p).counts {
				u.Failed = append(u.Failed, uid)
				s.uncountedFailed[uid] = true
				needsFlush = true
			}
		}
		if len(newSucceededIdx)+len(u.Succeeded)+len(u.Failed) >= MaxUncountedPods {
			full = true // the status stays small; the next sync goes on
			break
		}
	}
	if indexed {
		slices.Sort(newSucceededIdx)
		s.succeededIdx = s.succeededIdx.with(slices.Compact(newSucceededIdx))
		if str := s.succeededIdx.String(); str != st.CompletedIndexes {
			st.CompletedIndexes = str
			needsFlush = true
		}
		st.Succeeded = int32(s.succeededIdx.total())
		var failedStr *string
		if s.failedIdx != nil {
			failedStr = proto.String(s.failedIdx.String())
		}
		if (failedStr == nil) != (st.FailedIndexes == nil) || failedStr != nil && *failedStr != st.GetFailedIndexes() {
			st.FailedIndexes = failedStr
			needsFlush = true
		}
	}
	if c := s.finishedCond; c != nil && c.GetType() == "FailureTarget" {
		// The interim condition records why before any pod is freed.
		st.Conditions = append(st.Conditions, c)
		needsFlush = true
		s.finishedCond = newCondition("Failed", "True", c.GetReason(), c.GetMessage(), now)
	}
	if c := s.finishedCond; c != nil && c.GetType() == "SuccessCriteriaMet" && c.GetStatus() == "True" {
		if findCondition(st.Conditions, "SuccessCriteriaMet") == nil {
			st.Conditions = append(st.Conditions, c)
			needsFlush = true
		}
		s.finishedCond = newCondition("Complete", "True", c.GetReason(), c.GetMessage(), now)
	}
	var err error
	if needsFlush, err = jc.flushAndRelease(ctx, key, s, toRelease, withFinalizer, needsFlush); err != nil {
		return err
	}
	done := !full && jc.enactFinished(s, now)
	if !needsFlush && !done {
		return nil
	}
	if s.job, err = jc.writeStatus(ctx, s.job); err != nil {
		return err
	}
	if done {
		jc.recordFinished(s.job, s.finishedCond)
		jc.finished.Store(s.job.GetMetadata().GetUid(), struct{}{})
	}
	return nil
}

// canRelease: a pod's finalizer may go once the Job is being deleted or
// has ended, the pod succeeded, or it failed (unless it must wait for its
// index's replacement to take over its failure count).
func (s *syncState) canRelease(p *corev1.Pod, failed bool) bool {
	if s.job.GetMetadata().GetDeletionTimestamp() != nil || s.finishedCond != nil || phase(p) == "Succeeded" {
		return true
	}
	if !failed {
		return false
	}
	if hasBackoffLimitPerIndex(s.job) {
		if d, ok := s.delayedPerIndex[completionIndex(p)]; ok && d.GetMetadata().GetUid() == p.GetMetadata().GetUid() {
			return false
		}
	}
	return true
}

// flushAndRelease writes the uncounted uids, removes the finalizers, and
// counts the pods whose finalizer is gone. It reports whether the status
// still has changes to write.
func (jc *Controller) flushAndRelease(ctx context.Context, key string, s *syncState, pods []*corev1.Pod, withFinalizer map[string]bool, needsFlush bool) (bool, error) {
	if needsFlush {
		job, err := jc.writeStatus(ctx, s.job)
		if err != nil {
			return true, fmt.Errorf("add uncounted pods to status: %w", err)
		}
		s.job = job
		jc.backoff.set(key, s.newBackoff)
		needsFlush = false
	}
	var rmErr error
	if len(pods) > 0 {
		var released []bool
		released, rmErr = jc.releasePods(ctx, key, pods)
		for i, p := range pods {
			if released[i] {
				delete(withFinalizer, p.GetMetadata().GetUid())
			}
		}
	}
	if countUncounted(s.job.Status, withFinalizer) {
		needsFlush = true
	}
	if rmErr != nil && needsFlush {
		job, err := jc.writeStatus(ctx, s.job)
		if err != nil {
			return true, fmt.Errorf("remove uncounted pods from status: %w", err)
		}
		s.job = job
		needsFlush = false
	}
	return needsFlush, rmErr
}

// releasePods removes the tracking finalizer from pods, expecting each
// removal to show in the cache; a pod already gone counts as released.
func (jc *Controller) releasePods(ctx context.Context, key string, pods []*corev1.Pod) ([]bool, error) {
	uids := make([]string, len(pods))
	for i, p := range pods {
		uids[i] = p.GetMetadata().GetUid()
	}
	jc.finalizers.expect(key, uids)
	ok := make([]bool, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := jc.removeFinalizer(ctx, p); err != nil {
				jc.finalizers.observed(key, p.GetMetadata().GetUid())
				errs[i] = err
				return
			}
			ok[i] = true
		}()
	}
	wg.Wait()
	return ok, errors.Join(errs...)
}

// countUncounted moves the uncounted uids whose pods no longer hold the
// finalizer into the counters. It reports whether anything moved.
func countUncounted(st *batchv1.JobStatus, withFinalizer map[string]bool) bool {
	u := st.UncountedTerminatedPods
	changed := false
	keep := func(list []string, counter *int32) []string {
		var out []string
		for _, uid := range list {
			if withFinalizer[uid] {
				out = append(out, uid)
			}
		}
		if len(out) != len(list) {
			*counter += int32(len(list) - len(out))
			changed = true
		}
		return out
	}
	u.Succeeded = keep(u.Succeeded, &st.Succeeded)
	u.Failed = keep(u.Failed, &st.Failed)
	return changed
}

// enactFinished sets the Complete or Failed condition once no pod is
// left uncounted or terminating.
func (jc *Controller) enactFinished(s *syncState, now time.Time) bool {
	c := s.finishedCond
	if c == nil {
		return false
	}
	st := s.job.Status
	if u := st.GetUncountedTerminatedPods(); len(u.GetSucceeded())+len(u.GetFailed()) > 0 {
		return false
	}
	if s.terminating > 0 {
		return false
	}
	setCondition(s.job, c.GetType(), c.GetStatus(), c.GetReason(), c.GetMessage(), now)
	if c.GetType() == "Complete" {
		st.CompletionTime = findCondition(st.Conditions, "Complete").GetLastTransitionTime()
	}
	return true
}

// recordFinished records the Job's outcome as Kubernetes' events do.
func (jc *Controller) recordFinished(job *batchv1.Job, c *batchv1.JobCondition) {
	if c.GetType() == "Complete" {
		if comp := job.GetSpec().Completions; comp != nil && job.GetStatus().GetSucceeded() > *comp {
			jc.Events.Eventf(job, events.Warning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		jc.Events.Eventf(job, events.Normal, "Completed", "Job completed")
		return
	}
	jc.Events.Eventf(job, events.Warning, c.GetReason(), "%s", c.GetMessage())
}

// writeStatus updates the Job's status and returns what was stored.
func (jc *Controller) writeStatus(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	out, err := jc.c.BatchV1().Jobs(job.GetMetadata().GetNamespace()).UpdateStatus(ctx, job, client.WriteOptions{})
	if err != nil {
		return job, fmt.Errorf("update status of job %s/%s: %w", job.GetMetadata().GetNamespace(), job.GetMetadata().GetName(), err)
	}
	jc.wrote(job.GetMetadata().GetNamespace()+"/"+job.GetMetadata().GetName(), out)
	return out, nil
}
