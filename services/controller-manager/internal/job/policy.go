package job

import (
	"fmt"
	"slices"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
)

// The actions of a pod failure policy rule.
const (
	actionFailJob   = "FailJob"
	actionFailIndex = "FailIndex"
	actionIgnore    = "Ignore"
	actionCount     = "Count"
)

// policyMatch is what a pod failure policy makes of a failed pod: the
// message that fails the Job (a FailJob rule), whether the failure
// counts towards the back-off limits (not under an Ignore rule), and the
// action of the rule that matched ("" for none).
type policyMatch struct {
	failJob string
	counts  bool
	action  string
}

// matchPodFailurePolicy applies the first rule that matches: on a
// container (or init container) that terminated with a non-zero exit
// code the rule's operator accepts, or on a pod condition of the rule's
// type and status (such as DisruptionTarget=True).
func matchPodFailurePolicy(pfp *batchv1.PodFailurePolicy, pod *corev1.Pod) policyMatch {
	if pfp == nil {
		return policyMatch{counts: true}
	}
	meta := pod.GetMetadata()
	for i, r := range pfp.GetRules() {
		var failJob string
		switch {
		case r.OnExitCodes != nil:
			cs := matchOnExitCodes(pod.GetStatus(), r.GetOnExitCodes())
			if cs == nil {
				continue
			}
			failJob = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.GetName(), meta.GetNamespace(), meta.GetName(), cs.GetState().GetTerminated().GetExitCode(), r.GetAction(), i)
		case len(r.GetOnPodConditions()) > 0:
			c := matchOnPodConditions(pod.GetStatus(), r.GetOnPodConditions())
			if c == nil {
				continue
			}
			failJob = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
				meta.GetNamespace(), meta.GetName(), c.GetType(), r.GetAction(), i)
		default:
			continue
		}
		switch r.GetAction() {
		case actionIgnore:
			return policyMatch{action: actionIgnore}
		case actionFailIndex:
			return policyMatch{counts: true, action: actionFailIndex}
		case actionCount:
			return policyMatch{counts: true, action: actionCount}
		case actionFailJob:
			return policyMatch{failJob: failJob, counts: true, action: actionFailJob}
		}
	}
	return policyMatch{counts: true}
}

func matchOnExitCodes(st *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	if cs := matchingContainer(st.GetContainerStatuses(), req); cs != nil {
		return cs
	}
	return matchingContainer(st.GetInitContainerStatuses(), req)
}

func matchingContainer(list []*corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, cs := range list {
		t := cs.GetState().GetTerminated()
		if t == nil || t.GetExitCode() == 0 {
			continue
		}
		if req.ContainerName != nil && req.GetContainerName() != cs.GetName() {
			continue
		}
		in := slices.Contains(req.GetValues(), t.GetExitCode())
		if req.GetOperator() == "In" && in || req.GetOperator() == "NotIn" && !in {
			return cs
		}
	}
	return nil
}

func matchOnPodConditions(st *corev1.PodStatus, patterns []*batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for _, c := range st.GetConditions() {
		for _, p := range patterns {
			if c.GetType() == p.GetType() && c.GetStatus() == p.GetStatus() {
				return c
			}
		}
	}
	return nil
}
