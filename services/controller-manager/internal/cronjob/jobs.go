package cronjob

import (
	"cmp"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/controller-manager/internal/cronjob/schedule"
)

// ScheduledTimestampAnnotation is the run's schedule time, in the CronJob's
// time zone, RFC 3339, on every Job the controller creates.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// finished tells whether a Job is over, and how: Complete or Failed.
func finished(j *batchv1.Job) (bool, string) {
	for _, c := range j.GetStatus().GetConditions() {
		if (c.GetType() == "Complete" || c.GetType() == "Failed") && c.GetStatus() == "True" {
			return true, c.GetType()
		}
	}
	return false, ""
}

// ownerReference is the controller reference a CronJob puts on its Jobs.
func ownerReference(cj *batchv1.CronJob) *metav1.OwnerReference {
	return &metav1.OwnerReference{ApiVersion: "batch/v1", Kind: "CronJob", Name: cj.GetMetadata().GetName(),
		Uid: cj.GetMetadata().GetUid(), Controller: proto.Bool(true), BlockOwnerDeletion: proto.Bool(true)}
}

// jobFor makes the Job of the run scheduled at t: the template's labels,
// annotations and spec, the schedule time annotation, the CronJob as its
// controller, and a name every controller instance gives the same run.
func jobFor(cj *batchv1.CronJob, t time.Time) (*batchv1.Job, error) {
	loc := time.UTC
	if tz := cj.GetSpec().TimeZone; tz != nil {
		l, err := schedule.LoadLocation(*tz)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	tmpl := cj.GetSpec().GetJobTemplate()
	labels := map[string]string{}
	for k, v := range tmpl.GetMetadata().GetLabels() {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range tmpl.GetMetadata().GetAnnotations() {
		annotations[k] = v
	}
	annotations[ScheduledTimestampAnnotation] = t.In(loc).Format(time.RFC3339)
	spec, _ := proto.Clone(tmpl.GetSpec()).(*batchv1.JobSpec)
	return &batchv1.Job{
		Metadata: &metav1.ObjectMeta{
			Name: schedule.JobName(cj.GetMetadata().GetName(), t), Namespace: cj.GetMetadata().GetNamespace(),
			Labels: labels, Annotations: annotations,
			OwnerReferences: []*metav1.OwnerReference{ownerReference(cj)},
		},
		Spec: spec,
	}, nil
}

// inActive tells whether the status lists a Job by uid.
func inActive(st *batchv1.CronJobStatus, uid string) bool {
	return slices.ContainsFunc(st.GetActive(), func(r *corev1.ObjectReference) bool { return r.GetUid() == uid })
}

// inActiveByName tells whether the status lists a Job by namespace and name.
func inActiveByName(st *batchv1.CronJobStatus, namespace, name string) bool {
	return slices.ContainsFunc(st.GetActive(), func(r *corev1.ObjectReference) bool {
		return r.GetNamespace() == namespace && r.GetName() == name
	})
}

// removeActive drops a Job from the status by uid.
func removeActive(st *batchv1.CronJobStatus, uid string) {
	st.Active = slices.DeleteFunc(st.Active, func(r *corev1.ObjectReference) bool { return r.GetUid() == uid })
}

// byStartTime orders Jobs oldest first: started before not started, then by
// start time, then by name.
func byStartTime(a, b *batchv1.Job) int {
	sa, sb := a.GetStatus().GetStartTime(), b.GetStatus().GetStartTime()
	switch {
	case sa == nil && sb != nil:
		return 1
	case sa != nil && sb == nil:
		return -1
	case sa != nil && !sa.AsTime().Equal(sb.AsTime()):
		return sa.AsTime().Compare(sb.AsTime())
	}
	return cmp.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
}
