package kinds

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// jobs is batch/v1 Job: no short name, in the "all" category, with the
// status subresource. A delete that names no propagation policy orphans
// the Job's pods, as Kubernetes does for batch/v1.
func jobs() *registry.Resource {
	r := core("jobs", "job", "Job", true, true, newOf[batchv1.Job](), newOf[batchv1.JobList](), jobStrategy)
	r.Group = "batch"
	r.Categories = []string{"all"}
	r.DefaultPropagation = "Orphan"
	return r
}

// jobStrategy has Kubernetes' rules: the selector and the pod labels are
// generated from the Job's uid on create unless the selector is manual;
// the template, selector, completion mode and policies never change
// (scheduling directives may while a suspended Job has never started);
// status writes may not undo what the controller has decided.
var jobStrategy = registry.Strategy{
	PrepareForCreate: func(_ context.Context, obj proto.Message) {
		defaults.JobSelector(obj.(*batchv1.Job))
	},
	Default:              mutate(defaults.Job),
	Validate:             check(validate.ValidateJob),
	ValidateUpdate:       checkUpdate(validate.ValidateJobUpdate),
	ValidateStatusUpdate: checkUpdate(validate.ValidateJobStatusUpdate),
	FieldSet: fields(func(j *batchv1.Job) map[string]string {
		return map[string]string{"status.successful": strconv.Itoa(int(j.GetStatus().GetSucceeded()))}
	}),
}
