package defaults

import (
	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
)

// CronJob: concurrencyPolicy Allow, not suspended, three successful and one
// failed Job kept, and the job template's pod template defaults (the Job's
// own fields are defaulted when the Job is created), as Kubernetes does.
func CronJob(cj *batchv1.CronJob) {
	if cj.Spec == nil {
		cj.Spec = &batchv1.CronJobSpec{}
	}
	sp := cj.Spec
	if sp.ConcurrencyPolicy == "" {
		sp.ConcurrencyPolicy = "Allow"
	}
	if sp.Suspend == nil {
		sp.Suspend = proto.Bool(false)
	}
	if sp.SuccessfulJobsHistoryLimit == nil {
		sp.SuccessfulJobsHistoryLimit = proto.Int32(3)
	}
	if sp.FailedJobsHistoryLimit == nil {
		sp.FailedJobsHistoryLimit = proto.Int32(1)
	}
	if sp.JobTemplate == nil {
		sp.JobTemplate = &batchv1.JobTemplateSpec{}
	}
	if sp.JobTemplate.Spec == nil {
		sp.JobTemplate.Spec = &batchv1.JobSpec{}
	}
	js := sp.JobTemplate.Spec
	for _, r := range js.GetPodFailurePolicy().GetRules() {
		for _, c := range r.GetOnPodConditions() {
			if c.Status == "" {
				c.Status = "True"
			}
		}
	}
	template(&js.Template)
}
