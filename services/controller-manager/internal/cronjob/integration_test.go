package cronjob_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/pkg/events"
	"skiff.dev/services/controller-manager/internal/cronjob"
	"skiff.dev/services/controller-manager/internal/informers"
)

func TestMain(m *testing.M) { framework.Main(m) }

const wait = 30 * time.Second

// cluster is one real apiserver and a fake clock the controllers read; each
// test starts a new clock at the real time, as the apiserver stamps the
// CronJobs' creation with it.
type cluster struct {
	t   *testing.T
	c   *client.Client
	clk *clock.Fake
}

func newCluster(t *testing.T) *cluster {
	if testing.Short() {
		t.Skip("starts an apiserver")
	}
	srv := framework.StartAPIServer(t)
	return &cluster{t: t, c: srv.Client(), clk: clock.NewFake(time.Now())}
}

// startController runs one instance of the controller on the cluster's
// clock, with its own informers, as one controller-manager would; the
// returned func stops it and waits for it.
func (cl *cluster) startController() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.New(cl.c)
	eb := events.NewBroadcaster(events.ClientSink{C: cl.c})
	cc := cronjob.New(cl.c, f, cronjob.Config{Workers: 3, Clock: cl.clk})
	cc.Events = eb.Recorder(cronjob.Component, "")
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = eb.Run(ctx) }()
	go func() { defer wg.Done(); _ = f.Start(ctx) }()
	go func() {
		defer wg.Done()
		if f.WaitForSync(ctx) {
			_ = cc.Run(ctx)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	cl.t.Cleanup(stop)
	return stop
}

func (cl *cluster) namespace(name string) string {
	cl.t.Helper()
	if _, err := cl.c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name}}, client.WriteOptions{}); err != nil {
		cl.t.Fatal(err)
	}
	return name
}

// createCronJob makes a CronJob that runs every minute and returns it with
// the first minute it is due.
func (cl *cluster) createCronJob(ns, name string, change func(*batchv1.CronJobSpec)) (*batchv1.CronJob, time.Time) {
	cl.t.Helper()
	cj := &batchv1.CronJob{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: &batchv1.JobTemplateSpec{
			Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": name}, Annotations: map[string]string{"note": "from the template"}},
			Spec: &batchv1.JobSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: proto.String("Never"),
				Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}}}}}}
	if change != nil {
		change(cj.Spec)
	}
	out, err := cl.c.BatchV1().CronJobs(ns).Create(context.Background(), cj, client.WriteOptions{})
	if err != nil {
		cl.t.Fatal(err)
	}
	// Gone at the end of the test, so later tests' controllers leave it be.
	cl.t.Cleanup(func() { _, _ = cl.c.BatchV1().CronJobs(ns).Delete(context.Background(), name, nil) })
	return out, out.GetMetadata().GetCreationTimestamp().AsTime().Truncate(time.Minute).Add(time.Minute)
}

// stepTo moves the fake clock to t (never back).
func (cl *cluster) stepTo(t time.Time) {
	if d := t.Sub(cl.clk.Now()); d > 0 {
		cl.clk.Step(d)
	}
}

func jobName(cj string, t time.Time) string { return fmt.Sprintf("%s-%d", cj, t.Unix()/60) }

func (cl *cluster) jobs(ns string) []*batchv1.Job {
	cl.t.Helper()
	l, err := cl.c.BatchV1().Jobs(ns).List(context.Background(), client.ListOptions{})
	if err != nil {
		cl.t.Fatal(err)
	}
	return l.GetItems()
}

func names(jobs []*batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.GetMetadata().GetName())
	}
	slices.Sort(out)
	return out
}

// waitJobs waits until the namespace holds exactly these Jobs.
func (cl *cluster) waitJobs(ns string, want ...string) {
	cl.t.Helper()
	slices.Sort(want)
	framework.Eventually(cl.t, wait, "jobs "+strings.Join(want, ","), func() error {
		if got := names(cl.jobs(ns)); !slices.Equal(got, want) {
			return fmt.Errorf("jobs %v, want %v", got, want)
		}
		return nil
	})
}

func (cl *cluster) cronJob(ns, name string) *batchv1.CronJob {
	cl.t.Helper()
	cj, err := cl.c.BatchV1().CronJobs(ns).Get(context.Background(), name)
	if err != nil {
		cl.t.Fatal(err)
	}
	return cj
}

// waitActive waits until the CronJob's status lists exactly these Jobs.
func (cl *cluster) waitActive(ns, name string, want ...string) *batchv1.CronJob {
	cl.t.Helper()
	slices.Sort(want)
	var cj *batchv1.CronJob
	framework.Eventually(cl.t, wait, "active "+strings.Join(want, ","), func() error {
		cj = cl.cronJob(ns, name)
		var got []string
		for _, r := range cj.GetStatus().GetActive() {
			got = append(got, r.GetName())
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("active %v, want %v", got, want)
		}
		return nil
	})
	return cj
}

// waitEvent waits for at least atLeast events of the reason about the
// object (one when not given), and returns how many there are.
func (cl *cluster) waitEvent(ns, name, reason string, atLeast ...int32) int32 {
	least := int32(1)
	if len(atLeast) > 0 {
		least = atLeast[0]
	}
	cl.t.Helper()
	var n int32
	framework.Eventually(cl.t, wait, "event "+reason, func() error {
		l, err := cl.c.CoreV1().Events(ns).List(context.Background(), client.ListOptions{})
		if err != nil {
			return err
		}
		n = 0
		for _, e := range l.GetItems() {
			if e.GetReason() == reason && e.GetInvolvedObject().GetName() == name {
				n += e.GetCount()
			}
		}
		if n < least {
			return fmt.Errorf("%d %s events about %s, want at least %d", n, reason, name, least)
		}
		return nil
	})
	return n
}

// finish sets a Job's status as the job controller would when it ends.
func (cl *cluster) finish(ns, name, how string, at time.Time) {
	cl.t.Helper()
	framework.Eventually(cl.t, wait, "finish "+name, func() error {
		j, err := cl.c.BatchV1().Jobs(ns).Get(context.Background(), name)
		if err != nil {
			return err
		}
		now := timestamppb.New(at)
		if j.Status == nil {
			// Started first: the Job's status validation reads the old
			// status's completion time.
			j.Status = &batchv1.JobStatus{StartTime: timestamppb.New(at.Add(-time.Second))}
			if j, err = cl.c.BatchV1().Jobs(ns).UpdateStatus(context.Background(), j, client.WriteOptions{}); err != nil {
				return err
			}
		}
		j.Status = &batchv1.JobStatus{StartTime: timestamppb.New(at.Add(-time.Second))}
		switch how {
		case "Complete":
			j.Status.Succeeded, j.Status.CompletionTime = 1, now
			j.Status.Conditions = []*batchv1.JobCondition{
				{Type: "SuccessCriteriaMet", Status: "True", LastTransitionTime: now, LastProbeTime: now},
				{Type: "Complete", Status: "True", LastTransitionTime: now, LastProbeTime: now}}
		default:
			j.Status.Failed = 1
			j.Status.Conditions = []*batchv1.JobCondition{
				{Type: "FailureTarget", Status: "True", LastTransitionTime: now, LastProbeTime: now},
				{Type: "Failed", Status: "True", LastTransitionTime: now, LastProbeTime: now, Reason: "BackoffLimitExceeded"}}
		}
		_, err = cl.c.BatchV1().Jobs(ns).UpdateStatus(context.Background(), j, client.WriteOptions{})
		return err
	})
}

func TestCronJobController(t *testing.T) {
	cl := newCluster(t)

	t.Run("creates a Job at each schedule time", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("on-schedule")
		cj, m1 := cl.createCronJob(ns, "tick", nil)
		cl.stepTo(m1.Add(time.Second))
		first := jobName("tick", m1)
		cl.waitJobs(ns, first)
		j, err := cl.c.BatchV1().Jobs(ns).Get(context.Background(), first)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := j.GetMetadata().GetAnnotations()[cronjob.ScheduledTimestampAnnotation], m1.UTC().Format(time.RFC3339); got != want {
			t.Errorf("scheduled-timestamp annotation %q, want %q", got, want)
		}
		if got := j.GetMetadata().GetAnnotations()["note"]; got != "from the template" {
			t.Errorf("template annotation %q, want it copied", got)
		}
		if got := j.GetMetadata().GetLabels()["app"]; got != "tick" {
			t.Errorf("label app=%q, want the template's", got)
		}
		refs := j.GetMetadata().GetOwnerReferences()
		if len(refs) != 1 || refs[0].GetUid() != cj.GetMetadata().GetUid() || !refs[0].GetController() || refs[0].GetKind() != "CronJob" {
			t.Errorf("owner references %v, want the CronJob as controller", refs)
		}
		st := cl.waitActive(ns, "tick", first).GetStatus()
		if !st.GetLastScheduleTime().AsTime().Equal(m1) {
			t.Errorf("lastScheduleTime %v, want %v", st.GetLastScheduleTime().AsTime(), m1)
		}
		cl.waitEvent(ns, "tick", "SuccessfulCreate")

		// Allow: the next run starts while the first is still running.
		m2 := m1.Add(time.Minute)
		cl.stepTo(m2.Add(time.Second))
		cl.waitJobs(ns, first, jobName("tick", m2))
		cl.waitActive(ns, "tick", first, jobName("tick", m2))

		// A finished Job leaves the active list; its completion is the
		// last successful time.
		cl.finish(ns, first, "Complete", m2.Add(2*time.Second))
		cj = cl.waitActive(ns, "tick", jobName("tick", m2))
		if got := cj.GetStatus().GetLastSuccessfulTime(); got == nil || !got.AsTime().Equal(m2.Add(2*time.Second)) {
			t.Errorf("lastSuccessfulTime %v, want %v", got, m2.Add(2*time.Second))
		}
		cl.waitEvent(ns, "tick", "SawCompletedJob")
	})

	t.Run("Forbid skips while a run is active", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("forbid")
		_, m1 := cl.createCronJob(ns, "single", func(s *batchv1.CronJobSpec) { s.ConcurrencyPolicy = "Forbid" })
		cl.stepTo(m1.Add(time.Second))
		first := jobName("single", m1)
		cl.waitJobs(ns, first)
		cl.waitActive(ns, "single", first)
		m2 := m1.Add(time.Minute)
		cl.stepTo(m2.Add(time.Second))
		cl.waitEvent(ns, "single", "JobAlreadyActive")
		if got := names(cl.jobs(ns)); !slices.Equal(got, []string{first}) {
			t.Fatalf("jobs %v while the first runs under Forbid, want only %s", got, first)
		}
		// Once it finishes, the run that was due starts late.
		cl.finish(ns, first, "Complete", m2.Add(2*time.Second))
		cl.waitJobs(ns, first, jobName("single", m2))
		cl.waitActive(ns, "single", jobName("single", m2))
	})

	t.Run("Replace deletes the running Job", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("replace")
		_, m1 := cl.createCronJob(ns, "latest", func(s *batchv1.CronJobSpec) { s.ConcurrencyPolicy = "Replace" })
		cl.stepTo(m1.Add(time.Second))
		cl.waitJobs(ns, jobName("latest", m1))
		cl.waitActive(ns, "latest", jobName("latest", m1))
		m2 := m1.Add(time.Minute)
		cl.stepTo(m2.Add(time.Second))
		cl.waitJobs(ns, jobName("latest", m2))
		cl.waitActive(ns, "latest", jobName("latest", m2))
		cl.waitEvent(ns, "latest", "SuccessfulDelete")
	})

	t.Run("history limits prune the oldest finished Jobs", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("history")
		_, m1 := cl.createCronJob(ns, "keep", func(s *batchv1.CronJobSpec) {
			s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit = proto.Int32(1), proto.Int32(1)
		})
		at := func(i int) time.Time { return m1.Add(time.Duration(i) * time.Minute) }
		var made []string
		for i, how := range []string{"Complete", "Complete", "Failed", "Failed"} {
			cl.stepTo(at(i).Add(time.Second))
			made = append(made, jobName("keep", at(i)))
			cl.waitActive(ns, "keep", made[i])
			cl.finish(ns, made[i], how, at(i).Add(2*time.Second))
			cl.waitActive(ns, "keep")
		}
		// One of each kind stays: the newest.
		cl.waitJobs(ns, made[1], made[3])
	})

	t.Run("a starting deadline skips a run that is too late", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("deadline")
		_, m1 := cl.createCronJob(ns, "prompt", func(s *batchv1.CronJobSpec) { s.StartingDeadlineSeconds = proto.Int64(10) })
		// One without a deadline shows when the controller has looked at
		// 30 s past the schedule time: it starts its run late.
		if _, late := cl.createCronJob(ns, "late", nil); !late.Equal(m1) {
			t.Skipf("the CronJobs were created in different minutes (%v, %v)", m1, late)
		}
		cl.stepTo(m1.Add(30 * time.Second))
		cl.waitJobs(ns, jobName("late", m1))
		m2 := m1.Add(time.Minute)
		cl.stepTo(m2.Add(time.Second))
		cl.waitJobs(ns, jobName("late", m1), jobName("late", m2), jobName("prompt", m2))
		cl.waitActive(ns, "prompt", jobName("prompt", m2))
	})

	t.Run("a suspended CronJob starts nothing", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("suspend")
		_, m1 := cl.createCronJob(ns, "paused", func(s *batchv1.CronJobSpec) {
			s.Suspend, s.StartingDeadlineSeconds = proto.Bool(true), proto.Int64(30)
		})
		if _, other := cl.createCronJob(ns, "running", nil); !other.Equal(m1) {
			t.Skipf("the CronJobs were created in different minutes (%v, %v)", m1, other)
		}
		cl.stepTo(m1.Add(time.Second))
		cl.waitJobs(ns, jobName("running", m1))
		// Resumed within the deadline, the run that was due starts.
		cj := cl.cronJob(ns, "paused")
		cj.Spec.Suspend = proto.Bool(false)
		if _, err := cl.c.BatchV1().CronJobs(ns).Update(context.Background(), cj, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.waitJobs(ns, jobName("running", m1), jobName("paused", m1))
	})

	t.Run("more than 100 missed times start only the latest", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		cl.startController()
		ns := cl.namespace("missed")
		_, m1 := cl.createCronJob(ns, "sleepy", nil)
		latest := m1.Add(3 * time.Hour)
		cl.stepTo(latest.Add(time.Second))
		cl.waitJobs(ns, jobName("sleepy", latest))
		cl.waitEvent(ns, "sleepy", "TooManyMissedTimes")
	})

	t.Run("a failover never runs a schedule time twice", func(t *testing.T) {
		cl.t, cl.clk = t, clock.NewFake(time.Now())
		stop := cl.startController()
		ns := cl.namespace("failover")
		_, m1 := cl.createCronJob(ns, "once", nil)
		cl.stepTo(m1.Add(time.Second))
		cl.waitJobs(ns, jobName("once", m1))
		cl.waitActive(ns, "once", jobName("once", m1))
		cl.waitEvent(ns, "once", "SuccessfulCreate", 1)
		stop()
		// Time passes with no controller; then two instances start at
		// once on the same clock and race for the run that is due.
		m2 := m1.Add(time.Minute)
		cl.stepTo(m2.Add(time.Second))
		cl.startController()
		cl.startController()
		cl.waitJobs(ns, jobName("once", m1), jobName("once", m2))
		cl.waitActive(ns, "once", jobName("once", m1), jobName("once", m2))
		m3 := m2.Add(time.Minute)
		cl.stepTo(m3.Add(time.Second))
		cl.waitJobs(ns, jobName("once", m1), jobName("once", m2), jobName("once", m3))
		cj := cl.waitActive(ns, "once", jobName("once", m1), jobName("once", m2), jobName("once", m3))
		if !cj.GetStatus().GetLastScheduleTime().AsTime().Equal(m3) {
			t.Errorf("lastScheduleTime %v, want %v", cj.GetStatus().GetLastScheduleTime().AsTime(), m3)
		}
		if n := cl.waitEvent(ns, "once", "SuccessfulCreate", 3); n != 3 {
			t.Errorf("%d SuccessfulCreate events, want 3 (one per run)", n)
		}
	})
}
