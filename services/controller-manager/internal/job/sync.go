package job

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/services/controller-manager/internal/controller"
)

// Kubernetes' reasons of a Job's terminal conditions.
const (
	ReasonBackoffLimitExceeded     = "BackoffLimitExceeded"
	ReasonDeadlineExceeded         = "DeadlineExceeded"
	ReasonPodFailurePolicy         = "PodFailurePolicy"
	ReasonMaxFailedIndexesExceeded = "MaxFailedIndexesExceeded"
	ReasonFailedIndexes            = "FailedIndexes"
	ReasonSuccessPolicy            = "SuccessPolicy"
	ReasonCompletionsReached       = "CompletionsReached"
)

// syncState is what one sync learns about a Job and its pods.
type syncState struct {
	job         *batchv1.Job
	pods        []*corev1.Pod
	active      []*corev1.Pod
	ready       int32
	terminating int32
	// uncounted are the pods in status.uncountedTerminatedPods.
	uncountedSucceeded, uncountedFailed map[string]bool
	// expectedRm are pods whose finalizer removal is on its way.
	expectedRm        map[string]bool
	succeeded, failed int32
	newBackoff        backoffRecord
	// finishedCond is the condition the Job gets once every pod is
	// counted and gone: Complete, Failed, or their interim forms.
	finishedCond *batchv1.JobCondition
	// Indexed Jobs: the indexes that succeeded before this sync and now,
	// those that failed (with backoffLimitPerIndex), and the last failed
	// pod of each index awaiting its replacement.
	prevSucceededIdx, succeededIdx intervals
	failedIdx                      *intervals
	delayedPerIndex                map[int]*corev1.Pod
	// requeue is the earliest time to look again (0: none).
	requeue time.Duration
}

func (s *syncState) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

// finished reports whether the Job has its Complete or Failed condition.
func finished(j *batchv1.Job) bool {
	return conditionTrue(j, "Complete") || conditionTrue(j, "Failed")
}

func conditionTrue(j *batchv1.Job, t string) bool {
	c := findCondition(j.GetStatus().GetConditions(), t)
	return c != nil && c.GetStatus() == "True"
}

func findCondition(list []*batchv1.JobCondition, t string) *batchv1.JobCondition {
	for _, c := range list {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

func newCondition(t, status, reason, message string, now time.Time) *batchv1.JobCondition {
	ts := timestamppb.New(now.Truncate(time.Second))
	return &batchv1.JobCondition{Type: t, Status: status, Reason: reason, Message: message, LastProbeTime: ts, LastTransitionTime: ts}
}

// setCondition sets a condition's status, reason and message, with new
// times when one of them changes; a missing condition is added unless it
// would be False. It reports whether anything changed.
func setCondition(j *batchv1.Job, t, status, reason, message string, now time.Time) bool {
	if c := findCondition(j.Status.Conditions, t); c != nil {
		if c.GetStatus() == status && c.GetReason() == reason && c.GetMessage() == message {
			return false
		}
		proto.Reset(c)
		proto.Merge(c, newCondition(t, status, reason, message, now))
		return true
	}
	if status == "False" {
		return false
	}
	j.Status.Conditions = append(j.Status.Conditions, newCondition(t, status, reason, message, now))
	return true
}

// sync brings one Job a step closer to its end.
func (jc *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	shared, ok := jc.jobs.Store().Get(key)
	if !ok {
		jc.exp.Forget(key)
		jc.finalizers.forget(key)
		jc.backoff.remove(key)
		jc.written.Delete(key)
		return 0, nil
	}
	if mb := shared.GetSpec().ManagedBy; mb != nil && *mb != managedBy {
		return 0, nil // another controller's
	}
	uid := shared.GetMetadata().GetUid()
	if finished(shared) {
		jc.backoff.remove(key)
		jc.finished.Delete(uid)
		return 0, jc.releaseAll(ctx, shared)
	}
	if _, ok := jc.finished.Load(uid); ok {
		return 0, nil // the cache has not caught up with our last write
	}
	if jc.stale(key, shared) {
		return 0, controller.ErrRetry // nor here
	}
	if m := shared.GetSpec().GetCompletionMode(); m != "NonIndexed" && m != "Indexed" {
		jc.Events.Eventf(shared, events.Warning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return 0, nil
	}
	job := proto.Clone(shared).(*batchv1.Job)
	if job.Status == nil {
		job.Status = &batchv1.JobStatus{}
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations first: a pod created after this would otherwise slip
	// into the count without the expectation noticing.
	satisfied := jc.exp.Satisfied(key)
	// The same for finalizer removals: read after the pods, a removal the
	// cache has just shown would be neither expected nor seen, and its
	// pod counted a second time.
	expectedRm := jc.finalizers.get(key)
	pods, err := jc.claim(ctx, job)
	if err != nil {
		return 0, err
	}
	s := &syncState{job: job, pods: pods, expectedRm: expectedRm,
		uncountedSucceeded: set(job.Status.UncountedTerminatedPods.GetSucceeded()),
		uncountedFailed:    set(job.Status.UncountedTerminatedPods.GetFailed())}
	for _, p := range pods {
		switch {
		case isActive(p):
			s.active = append(s.active, p)
		case isTerminating(p):
			s.terminating++
		}
	}
	s.ready = countReady(s.active)
	active := int32(len(s.active))
	newSucceeded, newFailed := s.newFinishedPods()
	s.succeeded = job.Status.GetSucceeded() + int32(len(newSucceeded)) + int32(len(s.uncountedSucceeded))
	s.failed = job.Status.GetFailed() + int32(s.countedFailures(newFailed)) + int32(len(s.uncountedFailed))
	now := jc.now()
	if job.Status.StartTime == nil && !suspended(job) {
		job.Status.StartTime = timestamppb.New(now.Truncate(time.Second))
	}
	s.newBackoff = jc.backoff.get(key).next(newSucceeded, newFailed)

	jc.decideEnd(s, now)

	var manageErr error
	suspendChanged := false
	if s.finishedCond != nil {
		deletedReady, deleted, err := jc.deletePods(ctx, key, job, s.active, false)
		if deleted != active || !satisfied {
			// Pods remain, or the cache may miss some: not finished yet.
			s.finishedCond = nil
		}
		active -= deleted
		s.terminating += deleted
		s.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.GetMetadata().GetDeletionTimestamp() == nil {
			active, manageErr = jc.manage(ctx, key, s, now)
			managed = true
		}
		var complete bool
		if job.GetSpec().Completions == nil {
			// A work queue: done once any pod succeeded and none run.
			complete = s.succeeded > 0 && active == 0
		} else {
			complete = s.succeeded >= job.GetSpec().GetCompletions() && active == 0
		}
		switch {
		case complete:
			s.finishedCond = newCondition("SuccessCriteriaMet", "True", ReasonCompletionsReached, "Reached expected number of succeeded pods", now)
		case managed && suspended(job):
			if setCondition(job, "Suspended", "True", "JobSuspended", "Job suspended", now) {
				suspendChanged = true
				jc.Events.Eventf(job, events.Normal, "Suspended", "Job suspended")
			}
		case managed:
			if setCondition(job, "Suspended", "False", "JobResumed", "Job resumed", now) {
				suspendChanged = true
				jc.Events.Eventf(job, events.Normal, "Resumed", "Job resumed")
				// The active deadline counts from the resumption.
				job.Status.StartTime = timestamppb.New(now.Truncate(time.Second))
			}
		}
	}
	needsFlush := suspendChanged || active != job.Status.GetActive() || job.Status.Ready == nil || s.ready != job.Status.GetReady() ||
		job.Status.Terminating == nil || s.terminating != job.Status.GetTerminating()
	job.Status.Active = active
	job.Status.Ready = proto.Int32(s.ready)
	job.Status.Terminating = proto.Int32(s.terminating)
	if err := jc.trackStatus(ctx, key, s, needsFlush, now); err != nil {
		return 0, fmt.Errorf("track status of job %s: %w", key, err)
	}
	return s.requeue, manageErr
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// decideEnd looks for the Job's end, in Kubernetes' order: an earlier
// sync's SuccessCriteriaMet or FailureTarget; a FailJob rule; the
// back-off limit; the active deadline; an Indexed Job's failed indexes;
// its success policy.
func (jc *Controller) decideEnd(s *syncState, now time.Time) {
	job := s.job
	sp := job.GetSpec()
	if c := findCondition(job.Status.Conditions, "SuccessCriteriaMet"); c != nil && c.GetStatus() == "True" {
		s.finishedCond = c
	}
	if s.finishedCond == nil {
		if c := findCondition(job.Status.Conditions, "FailureTarget"); c != nil && c.GetStatus() == "True" {
			s.finishedCond = newCondition("Failed", "True", c.GetReason(), c.GetMessage(), now)
		} else if msg := failJobMessage(job, s.pods); msg != "" {
			s.finishedCond = newCondition("FailureTarget", "True", ReasonPodFailurePolicy, msg, now)
		}
	}
	if s.finishedCond == nil {
		switch {
		case s.failed > sp.GetBackoffLimit() || pastBackoffLimitOnFailure(job, s.pods):
			s.finishedCond = newCondition("FailureTarget", "True", ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now)
		case pastActiveDeadline(job, now):
			s.finishedCond = newCondition("FailureTarget", "True", ReasonDeadlineExceeded, "Job was active longer than specified deadline", now)
		case sp.ActiveDeadlineSeconds != nil && !suspended(job) && job.Status.StartTime != nil:
			left := time.Duration(sp.GetActiveDeadlineSeconds())*time.Second - now.Sub(job.Status.StartTime.AsTime())
			s.requeueAfter(max(left, time.Millisecond))
		}
	}
	if !isIndexed(job) {
		return
	}
	completions := int(sp.GetCompletions())
	s.prevSucceededIdx, s.succeededIdx = succeededIndexes(job, s.pods)
	s.succeeded = int32(s.succeededIdx.total())
	if hasBackoffLimitPerIndex(job) {
		f := failedIndexes(job, s.pods)
		s.failedIdx = &f
		if s.finishedCond == nil {
			switch {
			case sp.MaxFailedIndexes != nil && f.total() > int(sp.GetMaxFailedIndexes()):
				s.finishedCond = newCondition("FailureTarget", "True", ReasonMaxFailedIndexesExceeded, "Job has exceeded the specified maximal number of failed indexes", now)
			case f.total() > 0 && f.total()+s.succeededIdx.total() >= completions:
				s.finishedCond = newCondition("FailureTarget", "True", ReasonFailedIndexes, "Job has failed indexes", now)
			}
		}
		s.delayedPerIndex = s.podsWithDelayedDeletion()
	}
	if s.finishedCond == nil {
		if msg, ok := matchSuccessPolicy(sp.GetSuccessPolicy(), completions, s.succeededIdx); ok {
			s.finishedCond = newCondition("SuccessCriteriaMet", "True", ReasonSuccessPolicy, msg, now)
		}
	}
}

// failJobMessage is the message of the first failed pod a FailJob rule
// matches, or "".
func failJobMessage(j *batchv1.Job, pods []*corev1.Pod) string {
	if j.GetSpec().GetPodFailurePolicy() == nil {
		return ""
	}
	for _, p := range pods {
		if isFailed(p, j) {
			if m := matchPodFailurePolicy(j.GetSpec().GetPodFailurePolicy(), p); m.failJob != "" {
				return m.failJob
			}
		}
	}
	return ""
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure the kubelet
// restarts containers in place, so their restarts count as failures.
func pastBackoffLimitOnFailure(j *batchv1.Job, pods []*corev1.Pod) bool {
	if j.GetSpec().GetTemplate().GetSpec().GetRestartPolicy() != "OnFailure" {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if phase(p) != "Running" && phase(p) != "Pending" {
			continue
		}
		for _, cs := range p.GetStatus().GetInitContainerStatuses() {
			restarts += cs.GetRestartCount()
		}
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			restarts += cs.GetRestartCount()
		}
	}
	if j.GetSpec().GetBackoffLimit() == 0 {
		return restarts > 0
	}
	return restarts >= j.GetSpec().GetBackoffLimit()
}

func pastActiveDeadline(j *batchv1.Job, now time.Time) bool {
	sp := j.GetSpec()
	if sp.ActiveDeadlineSeconds == nil || j.GetStatus().GetStartTime() == nil || suspended(j) {
		return false
	}
	return now.Sub(j.GetStatus().GetStartTime().AsTime()) >= time.Duration(sp.GetActiveDeadlineSeconds())*time.Second
}

// newFinishedPods are the pods that finished since the last count: they
// still carry the finalizer and are not in uncountedTerminatedPods.
func (s *syncState) newFinishedPods() (succeeded, failed []*corev1.Pod) {
	for _, p := range s.pods {
		uid := p.GetMetadata().GetUid()
		if !hasTrackingFinalizer(p) || s.expectedRm[uid] {
			continue
		}
		if isIndexed(s.job) && !validIndex(p, s.job) {
			continue
		}
		if phase(p) == "Succeeded" && !s.uncountedSucceeded[uid] {
			succeeded = append(succeeded, p)
		} else if isFailed(p, s.job) && !s.uncountedFailed[uid] {
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// countedFailures: the failed pods an Ignore rule does not forgive.
func (s *syncState) countedFailures(failed []*corev1.Pod) int {
	n := 0
	for _, p := range failed {
		if matchPodFailurePolicy(s.job.GetSpec().GetPodFailurePolicy(), p).counts {
			n++
		}
	}
	return n
}
