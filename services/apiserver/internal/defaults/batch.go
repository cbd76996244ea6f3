package defaults

import (
	"maps"
	"math"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Job fills in a Job's defaults as Kubernetes does: one pod, one
// completion when neither is given, six retries (unbounded with a
// per-index limit), NonIndexed completion, not suspended, pods replaced
// once terminating (once failed under a pod failure policy), a generated
// selector, and the template's labels on a Job that has none.
func Job(j *batchv1.Job) {
	if j.Spec == nil {
		j.Spec = &batchv1.JobSpec{}
	}
	sp := j.Spec
	if sp.Completions == nil && sp.Parallelism == nil {
		sp.Completions = proto.Int32(1)
	}
	if sp.Parallelism == nil {
		sp.Parallelism = proto.Int32(1)
	}
	if sp.BackoffLimit == nil {
		if sp.BackoffLimitPerIndex != nil {
			sp.BackoffLimit = proto.Int32(math.MaxInt32)
		} else {
			sp.BackoffLimit = proto.Int32(6)
		}
	}
	if sp.CompletionMode == nil {
		sp.CompletionMode = proto.String("NonIndexed")
	}
	if sp.Suspend == nil {
		sp.Suspend = proto.Bool(false)
	}
	if sp.PodReplacementPolicy == nil {
		if sp.PodFailurePolicy != nil {
			sp.PodReplacementPolicy = proto.String("Failed")
		} else {
			sp.PodReplacementPolicy = proto.String("TerminatingOrFailed")
		}
	}
	if sp.ManualSelector == nil {
		sp.ManualSelector = proto.Bool(false)
	}
	template(&sp.Template)
	if j.Metadata == nil {
		j.Metadata = &metav1.ObjectMeta{}
	}
	if l := sp.Template.GetMetadata().GetLabels(); l != nil && len(j.Metadata.Labels) == 0 {
		j.Metadata.Labels = maps.Clone(l)
	}
}

// JobSelector gives a Job whose selector is not manual the labels that
// tie its pods to it (its uid and name, under the batch.kubernetes.io/
// keys and the legacy ones) and a selector of its uid, as Kubernetes does
// when the Job is created. Labels the user set are kept; validation
// rejects wrong ones.
func JobSelector(j *batchv1.Job) {
	sp := j.GetSpec()
	if sp == nil || sp.GetManualSelector() {
		return
	}
	if sp.Template == nil {
		sp.Template = &corev1.PodTemplateSpec{}
	}
	if sp.Template.Metadata == nil {
		sp.Template.Metadata = &metav1.ObjectMeta{}
	}
	tm := sp.Template.Metadata
	if tm.Labels == nil {
		tm.Labels = map[string]string{}
	}
	name, uid := j.GetMetadata().GetName(), j.GetMetadata().GetUid()
	for k, v := range map[string]string{
		"job-name": name, "batch.kubernetes.io/job-name": name,
		"controller-uid": uid, "batch.kubernetes.io/controller-uid": uid,
	} {
		if _, ok := tm.Labels[k]; !ok {
			tm.Labels[k] = v
		}
	}
	if sp.Selector == nil {
		sp.Selector = &metav1.LabelSelector{}
	}
	if sp.Selector.MatchLabels == nil {
		sp.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := sp.Selector.MatchLabels["batch.kubernetes.io/controller-uid"]; !ok {
		sp.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] = uid
	}
}
