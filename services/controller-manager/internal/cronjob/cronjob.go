// Package cronjob is the CronJob controller, as Kubernetes' cronjob
// controller v2 behaves: at each schedule time (package schedule does the
// arithmetic) it creates a Job named <cronjob>-<schedule time in minutes
// since the epoch>, annotated with the schedule time and controlled by the
// CronJob. The name is the same for every controller instance, so a
// restarted or failed-over controller-manager never runs a schedule time
// twice: a create that finds the Job already there takes it as made. It
// applies concurrencyPolicy (Allow, Forbid, Replace), startingDeadlineSeconds
// and suspend, prunes finished Jobs beyond the history limits, and keeps
// status.active, lastScheduleTime and lastSuccessfulTime.
//
// Time comes from an injected clock, so tests drive the schedule with a fake
// one.
package cronjob

import (
	"context"
	"sync"

	batchv1 "skiff.dev/api/batch/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "cronjob"

// Component is the source of its events.
const Component = "cronjob-controller"

// Config is how the controller runs.
type Config struct {
	Workers int
	// Clock tells the time the schedules are read against (the real
	// clock when nil).
	Clock clock.Clock
}

// Controller is the CronJob controller.
type Controller struct {
	*controller.Controller
	c     *client.Client
	cjs   *informer.Informer[*batchv1.CronJob]
	jobs  *informer.Informer[*batchv1.Job]
	clock clock.Clock
	wake  *wakeups
	// Events records what it does to CronJobs (nil records nothing).
	Events *events.Recorder
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, cfg Config) *Controller {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	cc := &Controller{c: c, clock: cfg.Clock,
		cjs:  informers.For[*batchv1.CronJob, *batchv1.CronJobList](f),
		jobs: informers.For[*batchv1.Job, *batchv1.JobList](f)}
	cc.Controller = &controller.Controller{Name: Name, Workers: cfg.Workers, Reconciler: controller.ReconcileFunc(cc.reconcile),
		Keys: func() []string {
			var keys []string
			for _, cj := range cc.cjs.Store().List() {
				keys = append(keys, informer.KeyOf(cj))
			}
			return keys
		}}
	cc.wake = newWakeups(cfg.Clock, cc.Enqueue)
	cc.cjs.AddHandler(informer.Handler[*batchv1.CronJob]{
		OnAdd:    func(cj *batchv1.CronJob) { cc.Enqueue(informer.KeyOf(cj)) },
		OnUpdate: cc.cronJobUpdated,
		OnDelete: func(cj *batchv1.CronJob) { cc.wake.forget(informer.KeyOf(cj)); cc.Enqueue(informer.KeyOf(cj)) },
	})
	cc.jobs.AddHandler(informer.Handler[*batchv1.Job]{
		OnAdd:    cc.jobChanged,
		OnUpdate: func(old, j *batchv1.Job) { cc.jobChanged(old); cc.jobChanged(j) },
		OnDelete: cc.jobChanged,
	})
	return cc
}

// Run works the queue and the schedule's wake-ups while ctx lasts.
func (cc *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cc.wake.run(ctx)
	}()
	err := cc.Controller.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

// cronJobUpdated looks again at once, except when the schedule or time zone
// changed: then at the new schedule's next time, so a changed schedule does
// not start a run it would have had in the past (as Kubernetes does).
func (cc *Controller) cronJobUpdated(old, cj *batchv1.CronJob) {
	key := informer.KeyOf(cj)
	if old.GetSpec().GetSchedule() == cj.GetSpec().GetSchedule() && sameZone(old, cj) {
		cc.Enqueue(key)
		return
	}
	s, err := parse(cj)
	if err != nil {
		cc.Events.Eventf(cj, events.Warning, "UnParseableCronJobSchedule", "unparseable schedule for cronjob: %s", cj.GetSpec().GetSchedule())
		return
	}
	now := cc.clock.Now()
	cc.wake.at(key, now.Add(requeue(cj, now, s)))
}

// jobChanged queues the CronJob that controls a Job.
func (cc *Controller) jobChanged(j *batchv1.Job) {
	if key, ok := cc.owner(j); ok {
		cc.Enqueue(key)
	}
}

// owner is the key of the CronJob controlling a Job, if it is one we know.
func (cc *Controller) owner(j *batchv1.Job) (string, bool) {
	for _, ref := range j.GetMetadata().GetOwnerReferences() {
		if !ref.GetController() || ref.GetKind() != "CronJob" {
			continue
		}
		key := j.GetMetadata().GetNamespace() + "/" + ref.GetName()
		cj, ok := cc.cjs.Store().Get(key)
		if !ok || cj.GetMetadata().GetUid() != ref.GetUid() {
			return "", false
		}
		return key, true
	}
	return "", false
}

// sameZone tells whether two CronJobs have the same spec.timeZone, both
// unset counting as the same.
func sameZone(a, b *batchv1.CronJob) bool {
	za, zb := a.GetSpec().TimeZone, b.GetSpec().TimeZone
	return za == nil && zb == nil || za != nil && zb != nil && *za == *zb
}
