package job

import (
	"slices"
	"sort"
	"strconv"
	"time"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
)

// Kubernetes' names for what the Job controller puts on its pods.
const (
	// TrackingFinalizer holds a finished pod until the controller has
	// counted it in the Job's status.
	TrackingFinalizer = "batch.kubernetes.io/job-tracking"
	// CompletionIndexAnnotation (also a label) is an Indexed Job pod's index.
	CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
	// IndexFailureCountAnnotation counts an index's earlier failed pods.
	IndexFailureCountAnnotation = "batch.kubernetes.io/job-index-failure-count"
	// IndexIgnoredFailureCountAnnotation counts those an Ignore rule forgave.
	IndexIgnoredFailureCountAnnotation = "batch.kubernetes.io/job-index-ignored-failure-count"
	// completionIndexEnv is the variable that gives a container its index.
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	noIndex            = -1
)

func isIndexed(j *batchv1.Job) bool { return j.GetSpec().GetCompletionMode() == "Indexed" }

func hasBackoffLimitPerIndex(j *batchv1.Job) bool {
	return isIndexed(j) && j.GetSpec().BackoffLimitPerIndex != nil
}

// onlyReplaceFailed: a pod is replaced once it has failed, not while it is
// terminating.
func onlyReplaceFailed(j *batchv1.Job) bool {
	return j.GetSpec().GetPodReplacementPolicy() == "Failed" || j.GetSpec().GetPodFailurePolicy() != nil
}

func suspended(j *batchv1.Job) bool { return j.GetSpec().GetSuspend() }

func phase(p *corev1.Pod) string { return p.GetStatus().GetPhase() }

func deleting(p *corev1.Pod) bool { return p.GetMetadata().GetDeletionTimestamp() != nil }

// isActive: neither finished nor being deleted.
func isActive(p *corev1.Pod) bool {
	return !deleting(p) && phase(p) != "Succeeded" && phase(p) != "Failed"
}

// isTerminating: being deleted but not yet finished.
func isTerminating(p *corev1.Pod) bool {
	return deleting(p) && phase(p) != "Succeeded" && phase(p) != "Failed"
}

// isFailed: the pod failed, or, unless only failed pods are replaced,
// is being deleted before it succeeded (an orphan or evicted pod may
// never reach the Failed phase).
func isFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if phase(p) == "Failed" {
		return true
	}
	return !onlyReplaceFailed(j) && deleting(p) && phase(p) != "Succeeded"
}

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.GetMetadata().GetFinalizers(), TrackingFinalizer)
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func countReady(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if isReady(p) {
			n++
		}
	}
	return n
}

// completionIndex is the pod's index from its annotation, noIndex when
// missing or malformed.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.GetMetadata().GetAnnotations()[CompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// validIndex: the pod's index is one the Job has.
func validIndex(p *corev1.Pod, j *batchv1.Job) bool {
	ix := completionIndex(p)
	return ix != noIndex && ix < int(j.GetSpec().GetCompletions())
}

func annotationCount(p *corev1.Pod, key string) int32 {
	v, err := strconv.Atoi(p.GetMetadata().GetAnnotations()[key])
	if err != nil || v < 0 || v > 1<<31-1 {
		return 0
	}
	return int32(v)
}

// finishedAt is when a pod finished: its containers' last exit, else
// when it turned not Ready, else when its deletion began, else its
// creation.
func finishedAt(p *corev1.Pod) time.Time {
	var last time.Time
	all := true
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		t := cs.GetState().GetTerminated()
		if t == nil || t.GetFinishedAt() == nil {
			all = false
			break
		}
		if ft := t.GetFinishedAt().AsTime(); ft.After(last) {
			last = ft
		}
	}
	if all && len(p.GetStatus().GetContainerStatuses()) > 0 {
		return last
	}
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" && c.GetStatus() == "False" && c.GetLastTransitionTime() != nil {
			return c.GetLastTransitionTime().AsTime()
		}
	}
	if m := p.GetMetadata(); m.GetDeletionTimestamp() != nil {
		return m.GetDeletionTimestamp().AsTime().Add(-time.Duration(m.GetDeletionGracePeriodSeconds()) * time.Second)
	}
	return p.GetMetadata().GetCreationTimestamp().AsTime()
}

func sortByFinished(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishedAt(pods[i]).Before(finishedAt(pods[j])) })
}

// removalOrder sorts pods so the ones to delete first come first, as
// Kubernetes' ActivePods order: unscheduled, pending, not ready, ready
// for less time, more restarts, newer.
func removalOrder(pods []*corev1.Pod) {
	rank := func(p *corev1.Pod) int {
		switch phase(p) {
		case "Pending":
			return 0
		case "Unknown":
			return 1
		case "Running":
			return 2
		}
		return 3
	}
	restarts := func(p *corev1.Pod) int32 {
		var n int32
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			n = max(n, cs.GetRestartCount())
		}
		return n
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if sa, sb := a.GetSpec().GetNodeName() != "", b.GetSpec().GetNodeName() != ""; sa != sb {
			return !sa
		}
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if ra, rb := isReady(a), isReady(b); ra != rb {
			return !ra
		}
		if ra, rb := restarts(a), restarts(b); ra != rb {
			return ra > rb
		}
		return a.GetMetadata().GetCreationTimestamp().AsTime().After(b.GetMetadata().GetCreationTimestamp().AsTime())
	})
}

// podsForRemoval picks at least n active pods to delete; an Indexed Job
// also loses every pod without a valid index and all but one pod of each
// index.
func podsForRemoval(j *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, left []*corev1.Pod
	if isIndexed(j) {
		byIndex := map[int][]*corev1.Pod{}
		for _, p := range active {
			if !validIndex(p, j) {
				rm = append(rm, p)
				continue
			}
			byIndex[completionIndex(p)] = append(byIndex[completionIndex(p)], p)
		}
		for _, ix := range sortedKeys(byIndex) {
			ps := byIndex[ix]
			removalOrder(ps)
			rm = append(rm, ps[:len(ps)-1]...)
			left = append(left, ps[len(ps)-1])
		}
	} else {
		left = slices.Clone(active)
	}
	if len(rm) < n {
		removalOrder(left)
		rm = append(rm, left[:min(n-len(rm), len(left))]...)
	}
	return rm
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
