package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/cronjob/schedule"
)

// reconcile brings one CronJob up to date: prunes its history, accounts
// for its Jobs, starts the run that is due, writes the status, and asks to
// be woken at the next schedule time.
func (cc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	cur, ok := cc.cjs.Store().Get(key)
	if !ok {
		cc.wake.forget(key)
		return 0, nil // its Jobs are the garbage collector's
	}
	cj := proto.Clone(cur).(*batchv1.CronJob)
	if cj.Status == nil {
		cj.Status = &batchv1.CronJobStatus{}
	}
	jobs := cc.jobs.Store().ByIndex(informer.IndexOwner, cj.GetMetadata().GetUid())
	changed := cc.cleanupFinished(ctx, cj, jobs)
	next, synced, syncErr := cc.sync(ctx, &cj, jobs)
	if changed || synced {
		_, err := client.For[*batchv1.CronJob, *batchv1.CronJobList](cc.c, cj.GetMetadata().GetNamespace()).UpdateStatus(ctx, cj, client.WriteOptions{})
		switch {
		case client.IsNotFound(err):
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("update status of cronjob %s: %w", key, err)
		}
	}
	if next != nil {
		cc.wake.at(key, *next)
		return 0, nil
	}
	return 0, syncErr
}

// parse reads a CronJob's schedule in its time zone.
func parse(cj *batchv1.CronJob) (cron.Schedule, error) {
	return schedule.Parse(cj.GetSpec().GetSchedule(), cj.GetSpec().TimeZone)
}

func history(cj *batchv1.CronJob) schedule.History {
	h := schedule.History{Created: cj.GetMetadata().GetCreationTimestamp().AsTime(),
		StartingDeadlineSeconds: cj.GetSpec().StartingDeadlineSeconds}
	if t := cj.GetStatus().GetLastScheduleTime(); t != nil {
		last := t.AsTime()
		h.LastScheduled = &last
	}
	return h
}

func requeue(cj *batchv1.CronJob, now time.Time, s cron.Schedule) time.Duration {
	return schedule.Requeue(history(cj), now, s)
}

// sync accounts for the CronJob's Jobs in its status and starts the run that
// is due, changing *cjp's status (or replacing *cjp by a fresher copy). It returns when to look again (nil: only when something changes)
// and whether the status changed.
func (cc *Controller) sync(ctx context.Context, cjp **batchv1.CronJob, jobs []*batchv1.Job) (*time.Time, bool, error) {
	now := cc.clock.Now()
	changed, err := cc.account(ctx, cjp, jobs)
	cj := *cjp
	if err != nil {
		return nil, changed, err
	}
	if cj.GetMetadata().GetDeletionTimestamp() != nil {
		return nil, changed, nil
	}
	sp := cj.GetSpec()
	if tz := sp.TimeZone; tz != nil {
		if _, err := schedule.LoadLocation(*tz); err != nil {
			cc.Events.Eventf(cj, events.Warning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return nil, changed, nil
		}
	}
	if sp.GetSuspend() {
		return nil, changed, nil
	}
	if schedule.HasTimeZonePrefix(sp.GetSchedule()) {
		cc.Events.Eventf(cj, events.Warning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", sp.GetSchedule())
	}
	s, err := parse(cj)
	if err != nil {
		cc.Events.Eventf(cj, events.Warning, "UnparseableSchedule", "unparseable schedule: %q : %s", sp.GetSchedule(), err)
		return nil, changed, nil
	}
	h := history(cj)
	due, missed, err := schedule.Due(h, now, s)
	if err != nil {
		cc.Events.Eventf(cj, events.Warning, "InvalidSchedule", "invalid schedule: %s : %s", sp.GetSchedule(), err)
		return nil, changed, nil
	}
	if missed == schedule.ManyMissed {
		cc.Events.Eventf(cj, events.Warning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
		slog.InfoContext(ctx, "too many missed times", "cronjob", informer.KeyOf(cj))
	}
	later := func() *time.Time { t := now.Add(requeue(cj, now, s)); return &t }
	if due == nil {
		return later(), changed, nil
	}
	if schedule.TooLate(h, *due, now) {
		cc.Events.Eventf(cj, events.Warning, "MissSchedule", "Missed scheduled time to start a job: %s", due.UTC().Format(time.RFC1123Z))
		return later(), changed, nil
	}
	ns, name := cj.GetMetadata().GetNamespace(), schedule.JobName(cj.GetMetadata().GetName(), *due)
	if inActiveByName(cj.Status, ns, name) || h.LastScheduled != nil && h.LastScheduled.Equal(*due) {
		return later(), changed, nil // this run was made
	}
	switch sp.GetConcurrencyPolicy() {
	case "Forbid":
		if len(cj.Status.GetActive()) > 0 {
			cc.Events.Eventf(cj, events.Normal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return later(), changed, nil
		}
	case "Replace":
		for _, ref := range slices.Clone(cj.Status.GetActive()) {
			if err := cc.replace(ctx, cj, ref.GetNamespace(), ref.GetName()); err != nil {
				return nil, changed, err
			}
			changed = true
		}
	}
	made, err := cc.create(ctx, cj, *due)
	if err != nil || !made {
		return nil, changed, err
	}
	return later(), true, nil
}

// replace deletes an active Job for the run that replaces it.
func (cc *Controller) replace(ctx context.Context, cj *batchv1.CronJob, namespace, name string) error {
	j, err := cc.jobClient(namespace).Get(ctx, name)
	if err != nil {
		cc.Events.Eventf(cj, events.Warning, "FailedGet", "Get job: %v", err)
		return fmt.Errorf("get job %s/%s to replace it: %w", namespace, name, err)
	}
	if !cc.deleteJob(ctx, cj, j) {
		return fmt.Errorf("could not replace job %s/%s", namespace, name)
	}
	return nil
}

// create makes the Job of the run at t and records it in the status. A Job
// of that name already there is the run made before (by this or another
// controller instance): it is recorded, never made twice. It reports whether
// the status changed.
func (cc *Controller) create(ctx context.Context, cj *batchv1.CronJob, t time.Time) (bool, error) {
	want, err := jobFor(cj, t)
	if err != nil {
		return false, err
	}
	jc := cc.jobClient(cj.GetMetadata().GetNamespace())
	made, err := jc.Create(ctx, want, client.WriteOptions{})
	switch {
	case controller.NamespaceTerminating(err):
		return false, err
	case client.IsAlreadyExists(err):
		made, err = jc.Get(ctx, want.GetMetadata().GetName())
		if err != nil {
			return false, fmt.Errorf("get job %s that exists already: %w", want.GetMetadata().GetName(), err)
		}
		if ref := ownerOf(made); ref == nil || ref.GetUid() != cj.GetMetadata().GetUid() {
			return false, nil // someone else's Job holds the name
		}
		if inActive(cj.Status, made.GetMetadata().GetUid()) {
			return false, nil
		}
		slog.InfoContext(ctx, "job already exists", "cronjob", informer.KeyOf(cj), "job", want.GetMetadata().GetName())
	case err != nil:
		cc.Events.Eventf(cj, events.Warning, "FailedCreate", "Error creating job: %v", err)
		return false, fmt.Errorf("create job %s: %w", want.GetMetadata().GetName(), err)
	default:
		cc.Events.Eventf(cj, events.Normal, "SuccessfulCreate", "Created job %v", made.GetMetadata().GetName())
	}
	cj.Status.Active = append(cj.Status.Active, events.Ref(made))
	cj.Status.LastScheduleTime = timestamppb.New(t)
	return true, nil
}

func ownerOf(j *batchv1.Job) *metav1.OwnerReference {
	for _, ref := range j.GetMetadata().GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

func (cc *Controller) jobClient(namespace string) *client.Resource[*batchv1.Job, *batchv1.JobList] {
	return client.For[*batchv1.Job, *batchv1.JobList](cc.c, namespace)
}
