package cronjob

import (
	"context"
	"log/slog"
	"slices"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// account brings status.active and lastSuccessfulTime in line with the Jobs:
// finished Jobs leave the active list (SawCompletedJob), the latest
// completion of a successful one is the last successful time, a running Job
// the status does not list is reported (UnexpectedJob), and listed Jobs that
// are gone are dropped (MissingJob). *cj may be replaced by a fresher copy
// read from the apiserver.
func (cc *Controller) account(ctx context.Context, cj **batchv1.CronJob, jobs []*batchv1.Job) (bool, error) {
	changed := false
	children := map[string]bool{}
	for _, j := range jobs {
		uid := j.GetMetadata().GetUid()
		children[uid] = true
		listed := inActive((*cj).Status, uid)
		done, how := finished(j)
		switch {
		case !listed && !done:
			// The cache may be behind the status: read it before calling
			// the Job unexpected.
			fresh, err := client.For[*batchv1.CronJob, *batchv1.CronJobList](cc.c, (*cj).GetMetadata().GetNamespace()).Get(ctx, (*cj).GetMetadata().GetName())
			if err != nil {
				return changed, err
			}
			if inActive(fresh.GetStatus(), uid) {
				if fresh.Status == nil {
					fresh.Status = &batchv1.CronJobStatus{}
				}
				*cj = fresh
				continue
			}
			cc.Events.Eventf(*cj, events.Warning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.GetMetadata().GetName())
		case done:
			if listed {
				removeActive((*cj).Status, uid)
				cc.Events.Eventf(*cj, events.Normal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.GetMetadata().GetName(), how)
				changed = true
			}
			if how == "Complete" && j.GetStatus().GetCompletionTime() != nil {
				last := (*cj).Status.GetLastSuccessfulTime()
				if done := j.GetStatus().GetCompletionTime(); last == nil || done.AsTime().After(last.AsTime()) {
					(*cj).Status.LastSuccessfulTime = done
					changed = true
				}
			}
		}
	}
	for _, ref := range slices.Clone((*cj).Status.GetActive()) {
		if children[ref.GetUid()] {
			continue
		}
		_, err := cc.jobClient(ref.GetNamespace()).Get(ctx, ref.GetName())
		switch {
		case client.IsNotFound(err):
			cc.Events.Eventf(*cj, events.Normal, "MissingJob", "Active job went missing: %v", ref.GetName())
			removeActive((*cj).Status, ref.GetUid())
			changed = true
		case err != nil:
			return changed, err
		}
	}
	return changed, nil
}

// cleanupFinished deletes the oldest finished Jobs beyond the CronJob's
// successful and failed history limits.
func (cc *Controller) cleanupFinished(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	sp := cj.GetSpec()
	if sp.SuccessfulJobsHistoryLimit == nil && sp.FailedJobsHistoryLimit == nil {
		return false
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch _, how := finished(j); how {
		case "Complete":
			succeeded = append(succeeded, j)
		case "Failed":
			failed = append(failed, j)
		}
	}
	changed := false
	if sp.SuccessfulJobsHistoryLimit != nil && cc.removeOldest(ctx, cj, succeeded, int(sp.GetSuccessfulJobsHistoryLimit())) {
		changed = true
	}
	if sp.FailedJobsHistoryLimit != nil && cc.removeOldest(ctx, cj, failed, int(sp.GetFailedJobsHistoryLimit())) {
		changed = true
	}
	return changed
}

func (cc *Controller) removeOldest(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job, keep int) bool {
	extra := len(jobs) - keep
	if extra <= 0 {
		return false
	}
	slices.SortFunc(jobs, byStartTime)
	changed := false
	for _, j := range jobs[:extra] {
		if cc.deleteJob(ctx, cj, j) {
			changed = true
		}
	}
	return changed
}

// deleteJob deletes a Job and its pods in the background and drops it from
// the status.
func (cc *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) bool {
	background := "Background"
	_, err := cc.jobClient(j.GetMetadata().GetNamespace()).Delete(ctx, j.GetMetadata().GetName(), &metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !client.IsNotFound(err) {
		cc.Events.Eventf(cj, events.Warning, "FailedDelete", "Deleted job: %v", err)
		slog.ErrorContext(ctx, "deleting job of cronjob", "job", informer.KeyOf(j), "cronjob", informer.KeyOf(cj), "err", err)
		return false
	}
	removeActive(cj.Status, j.GetMetadata().GetUid())
	cc.Events.Eventf(cj, events.Normal, "SuccessfulDelete", "Deleted job %v", j.GetMetadata().GetName())
	return true
}
