package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
)

// newJob is a created Job: defaulted, with its uid and generated selector.
func newJob(mods ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: "pi", Namespace: "default", Uid: "u1"},
		Spec: &batchv1.JobSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: proto.String("Never"),
			Containers: []*corev1.Container{{Name: "c", Image: "img"}}}}}}
	for _, m := range mods {
		m(j)
	}
	defaults.JobSelector(j)
	defaults.Job(j)
	return j
}

func TestJobDefaults(t *testing.T) {
	j := newJob()
	sp := j.GetSpec()
	if sp.GetCompletions() != 1 || sp.GetParallelism() != 1 || sp.GetBackoffLimit() != 6 || sp.GetCompletionMode() != "NonIndexed" ||
		sp.GetPodReplacementPolicy() != "TerminatingOrFailed" || sp.Suspend == nil || sp.ManualSelector == nil {
		t.Errorf("spec %v", sp)
	}
	want := map[string]string{"batch.kubernetes.io/controller-uid": "u1", "controller-uid": "u1", "batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
	for k, v := range want {
		if sp.GetTemplate().GetMetadata().GetLabels()[k] != v || j.GetMetadata().GetLabels()[k] != v {
			t.Errorf("label %s: template %v, job %v", k, sp.GetTemplate().GetMetadata().GetLabels(), j.GetMetadata().GetLabels())
		}
	}
	if sel := sp.GetSelector().GetMatchLabels(); len(sel) != 1 || sel["batch.kubernetes.io/controller-uid"] != "u1" {
		t.Errorf("selector %v", sel)
	}
	expectMessages(t, ValidateJob(j))
	if j := newJob(func(j *batchv1.Job) { j.Spec.Parallelism = proto.Int32(3) }); j.Spec.Completions != nil {
		t.Errorf("a work queue got completions %d", j.GetSpec().GetCompletions())
	}
	perIndex := newJob(func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = proto.Int32(1) })
	if perIndex.GetSpec().GetBackoffLimit() != 1<<31-1 {
		t.Errorf("backoffLimit with a per-index limit: %d", perIndex.GetSpec().GetBackoffLimit())
	}
	withPolicy := newJob(func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{} })
	if withPolicy.GetSpec().GetPodReplacementPolicy() != "Failed" {
		t.Errorf("podReplacementPolicy with a pod failure policy: %s", withPolicy.GetSpec().GetPodReplacementPolicy())
	}
}

func TestValidateJob(t *testing.T) {
	exitCodes := func(op string, values ...int32) *batchv1.PodFailurePolicy {
		return &batchv1.PodFailurePolicy{Rules: []*batchv1.PodFailurePolicyRule{{Action: "FailJob",
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: values}}}}
	}
	for _, tt := range []struct {
		name string
		mod  func(*batchv1.Job)
		want []string
	}{
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = proto.String("Always") },
			[]string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"negative counts", func(j *batchv1.Job) { j.Spec.Parallelism, j.Spec.BackoffLimit = proto.Int32(-1), proto.Int32(-2) },
			[]string{`spec.parallelism: Invalid value: -1: must be greater than or equal to 0`, `spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0`}},
		{"Indexed without completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = proto.String("Indexed")
			j.Spec.Parallelism = proto.Int32(2)
		},
			[]string{`spec.completions: Required value: when completion mode is Indexed`}},
		{"unknown completion mode", func(j *batchv1.Job) { j.Spec.CompletionMode = proto.String("Sometimes") },
			[]string{`spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"`}},
		{"per-index limit on NonIndexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = proto.Int32(1) },
			[]string{`spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode`}},
		{"FailJob on exit code 0", func(j *batchv1.Job) { j.Spec.PodFailurePolicy = exitCodes("In", 0, 3) },
			[]string{`spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator`}},
		{"unordered exit codes", func(j *batchv1.Job) { j.Spec.PodFailurePolicy = exitCodes("NotIn", 5, 3) },
			[]string{`spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [5,3]: must be ordered`}},
		{"pod failure policy needs Never", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = exitCodes("In", 42)
			j.Spec.Template.Spec.RestartPolicy = proto.String("OnFailure")
		}, []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`}},
		{"rule without requirement", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []*batchv1.PodFailurePolicyRule{{Action: "Ignore"}}}
		}, []string{`spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required`}},
		{"name too long for an index hostname", func(j *batchv1.Job) {
			j.Spec.CompletionMode, j.Spec.Completions = proto.String("Indexed"), proto.Int32(100)
			j.Metadata.Name = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi"
		}, []string{`metadata.name: Invalid value: "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi": will not able to create pod with invalid DNS label: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi-99`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expectMessages(t, ValidateJob(newJob(tt.mod)), tt.want...)
		})
	}
	// A generated selector must match the Job's own labels.
	j := newJob()
	j.Spec.Template.Metadata.Labels["controller-uid"] = "other"
	expectMessages(t, ValidateJob(j), `spec.template.metadata.labels[controller-uid]: Invalid value: "other": must be 'u1'`)
}

func TestValidateJobUpdate(t *testing.T) {
	old := newJob()
	j := proto.Clone(old).(*batchv1.Job)
	j.Spec.Parallelism, j.Spec.ActiveDeadlineSeconds = proto.Int32(4), proto.Int64(60)
	expectMessages(t, ValidateJobUpdate(j, old))
	j.Spec.Template.Spec.Containers[0].Image = "other"
	j.Spec.Completions = proto.Int32(2)
	j.Spec.CompletionMode = proto.String("Indexed")
	expectMessages(t, ValidateJobUpdate(j, old), "spec.completions: Invalid value: 2: can only be modified in tandem with spec.parallelism",
		"spec.template: Invalid value: field is immutable", `spec.completionMode: Invalid value: "Indexed": field is immutable`)
	// A suspended Job that never started may change where it runs.
	old.Spec.Suspend = proto.Bool(true)
	j = proto.Clone(old).(*batchv1.Job)
	j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	expectMessages(t, ValidateJobUpdate(j, old))
}

func TestValidateJobStatusUpdate(t *testing.T) {
	old := newJob()
	old.Status = &batchv1.JobStatus{Succeeded: 2, Failed: 1, Conditions: []*batchv1.JobCondition{{Type: "FailureTarget", Status: "True"}}}
	j := proto.Clone(old).(*batchv1.Job)
	j.Status.Failed, j.Status.Conditions = 0, nil
	expectMessages(t, ValidateJobStatusUpdate(j, old),
		"status.conditions: Invalid value: cannot disable the terminal FailureTarget=True condition",
		"status.failed: Invalid value: 0: cannot decrease the failed counter")

	// The first status write of a Job that had none, with a completion
	// time, is checked without reading the missing old status.
	old.Status = nil
	j = proto.Clone(old).(*batchv1.Job)
	j.Status = &batchv1.JobStatus{Succeeded: 1, CompletionTime: timestamppb.Now(), Ready: proto.Int32(-1)}
	expectMessages(t, ValidateJobStatusUpdate(j, old), "status.ready: Invalid value: -1: must be greater than or equal to 0")
}
