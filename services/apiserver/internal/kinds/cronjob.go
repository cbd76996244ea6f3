package kinds

import (
	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// cronJobs is batch/v1 CronJob: namespaced, short name cj, in the "all"
// category, with the status subresource the cronjob controller writes.
func cronJobs() *registry.Resource {
	return &registry.Resource{
		Group: "batch", Version: "v1", Plural: "cronjobs", Singular: "cronjob", Kind: "CronJob",
		ListKind: "CronJobList", ShortNames: []string{"cj"}, Namespaced: true, HasStatus: true,
		Categories: []string{"all"},
		New:        newOf[batchv1.CronJob](), NewList: newOf[batchv1.CronJobList](), Strategy: cronJobStrategy,
	}
}

// cronJobStrategy has Kubernetes' rules: defaults, the schedule and time
// zone checked on create and when they change, a status write checks
// nothing of its own.
var cronJobStrategy = registry.Strategy{
	Default:        mutate(defaults.CronJob),
	Validate:       check(validate.ValidateCronJob),
	ValidateCreate: check(validate.ValidateCronJobCreate),
	ValidateUpdate: checkUpdate(validate.ValidateCronJobUpdate),
	ValidateStatusUpdate: func(obj, old proto.Message) field.ErrorList {
		return validate.ValidateCronJobStatusUpdate(obj.(*batchv1.CronJob), old.(*batchv1.CronJob))
	},
}
