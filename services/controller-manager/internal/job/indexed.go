package job

import (
	"fmt"
	"slices"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
)

// succeededIndexes are the indexes in status.completedIndexes, and those
// plus the indexes of succeeded pods not yet counted.
func succeededIndexes(j *batchv1.Job, pods []*corev1.Pod) (prev, now intervals) {
	completions := int(j.GetSpec().GetCompletions())
	prev = parseIntervals(j.GetStatus().GetCompletedIndexes(), completions)
	var add []int
	for _, p := range pods {
		if phase(p) == "Succeeded" && validIndex(p, j) && hasTrackingFinalizer(p) {
			add = append(add, completionIndex(p))
		}
	}
	slices.Sort(add)
	return prev, prev.with(slices.Compact(add))
}

// failedIndexes are the indexes in status.failedIndexes and those whose
// pods failed past backoffLimitPerIndex (or under a FailIndex rule).
func failedIndexes(j *batchv1.Job, pods []*corev1.Pod) intervals {
	completions := int(j.GetSpec().GetCompletions())
	prev := parseIntervals(j.GetStatus().GetFailedIndexes(), completions)
	var add []int
	for _, p := range pods {
		if validIndex(p, j) && hasTrackingFinalizer(p) && indexFailed(j, p) {
			add = append(add, completionIndex(p))
		}
	}
	slices.Sort(add)
	return prev.with(slices.Compact(add))
}

func indexFailed(j *batchv1.Job, p *corev1.Pod) bool {
	if !isFailed(p, j) {
		return false
	}
	m := matchPodFailurePolicy(j.GetSpec().GetPodFailurePolicy(), p)
	if m.action == actionFailIndex {
		return true
	}
	return m.counts && annotationCount(p, IndexFailureCountAnnotation) >= j.GetSpec().GetBackoffLimitPerIndex()
}

// podsWithDelayedDeletion is, per index with no active, succeeded or
// failed state, its last failed pod: its finalizer stays until the
// replacement, which takes over its failure counts, exists.
func (s *syncState) podsWithDelayedDeletion() map[int]*corev1.Pod {
	activeIdx := map[int]bool{}
	for _, p := range s.active {
		activeIdx[completionIndex(p)] = true
	}
	out := map[int]*corev1.Pod{}
	for _, p := range s.pods {
		uid := p.GetMetadata().GetUid()
		if !hasTrackingFinalizer(p) || s.expectedRm[uid] || !validIndex(p, s.job) || !isFailed(p, s.job) {
			continue
		}
		ix := completionIndex(p)
		if s.succeededIdx.has(ix) || s.failedIdx.has(ix) || activeIdx[ix] {
			continue
		}
		if last, ok := out[ix]; ok {
			if absoluteFailures(last) <= absoluteFailures(p) && !finishedAt(p).Before(finishedAt(last)) {
				out[ix] = p
			}
			continue
		}
		out[ix] = p
	}
	return out
}

func absoluteFailures(p *corev1.Pod) int32 {
	return annotationCount(p, IndexFailureCountAnnotation) + annotationCount(p, IndexIgnoredFailureCountAnnotation)
}

// newIndexFailureCounts are the failure counts a replacement of the
// failed pod carries.
func newIndexFailureCounts(j *batchv1.Job, replaced *corev1.Pod) (counted, ignored int32) {
	if replaced == nil {
		return 0, 0
	}
	counted, ignored = annotationCount(replaced, IndexFailureCountAnnotation), annotationCount(replaced, IndexIgnoredFailureCountAnnotation)
	if matchPodFailurePolicy(j.GetSpec().GetPodFailurePolicy(), replaced).counts {
		counted++
	} else {
		ignored++
	}
	return counted, ignored
}

// firstPendingIndexes are up to n indexes below completions with no
// active, succeeded or failed pod (nor, when only failed pods are
// replaced, a terminating one), lowest first.
func (s *syncState) firstPendingIndexes(n, completions int) []int {
	if n == 0 {
		return nil
	}
	var busy []int
	for _, p := range s.active {
		if ix := completionIndex(p); ix != noIndex {
			busy = append(busy, ix)
		}
	}
	if onlyReplaceFailed(s.job) {
		for _, p := range s.pods {
			if isTerminating(p) {
				if ix := completionIndex(p); ix != noIndex {
					busy = append(busy, ix)
				}
			}
		}
	}
	slices.Sort(busy)
	taken := s.succeededIdx.with(slices.Compact(busy))
	if s.failedIdx != nil {
		taken = taken.merge(*s.failedIdx)
	}
	var out []int
	for ix := 0; ix < completions && len(out) < n; ix++ {
		if !taken.has(ix) {
			out = append(out, ix)
		}
	}
	return out
}

// matchSuccessPolicy reports the first rule the succeeded indexes meet.
func matchSuccessPolicy(sp *batchv1.SuccessPolicy, completions int, succeeded intervals) (string, bool) {
	if sp == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, r := range sp.GetRules() {
		switch {
		case r.SucceededIndexes != nil:
			want := parseIntervals(r.GetSucceededIndexes(), completions)
			if len(want) == 0 {
				continue
			}
			got := succeeded.overlap(want)
			if got == want.total() || r.SucceededCount != nil && got >= int(r.GetSucceededCount()) {
				return fmt.Sprintf("Matched rules at index %d", i), true
			}
		case r.SucceededCount != nil && succeeded.total() >= int(r.GetSucceededCount()):
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}
