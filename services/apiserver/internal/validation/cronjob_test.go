package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
)

func newCronJob() *batchv1.CronJob {
	cj := &batchv1.CronJob{
		Metadata: &metav1.ObjectMeta{Name: "backup", Namespace: "default"},
		Spec: &batchv1.CronJobSpec{Schedule: "*/5 * * * *", JobTemplate: &batchv1.JobTemplateSpec{Spec: &batchv1.JobSpec{
			Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: proto.String("OnFailure"),
				Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}},
		}}},
	}
	defaults.CronJob(cj)
	return cj
}

func TestValidateCronJob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*batchv1.CronJob)
		want   []string
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"every", func(c *batchv1.CronJob) { c.Spec.Schedule = "@every 5m" }, nil},
		{"no schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []string{"spec.schedule: Required value"}},
		{"bad schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			[]string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`}},
		{"too few fields", func(c *batchv1.CronJob) { c.Spec.Schedule = "* * *" },
			[]string{`spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]`}},
		{"negative deadline", func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = proto.Int64(-1) },
			[]string{"spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{"unknown policy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" },
			[]string{`spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`}},
		{"negative limits", func(c *batchv1.CronJob) {
			c.Spec.SuccessfulJobsHistoryLimit, c.Spec.FailedJobsHistoryLimit = proto.Int32(-1), proto.Int32(-2)
		}, []string{
			"spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
			"spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0"}},
		{"pods restart always", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = proto.String("Always") },
			[]string{`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"selector given", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, []string{"spec.jobTemplate.spec.selector: Invalid value: \"a=b\": `selector` will be auto-generated"}},
		{"negative parallelism", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Parallelism = proto.Int32(-1) },
			[]string{"spec.jobTemplate.spec.parallelism: Invalid value: -1: must be greater than or equal to 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCronJob()
			tc.change(c)
			expectMessages(t, ValidateCronJob(c), tc.want...)
		})
	}
}

func TestValidateCronJobCreate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*batchv1.CronJob)
		want   []string
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"a time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("Europe/Berlin") }, nil},
		{"52 characters", func(c *batchv1.CronJob) { c.Metadata.Name = strings.Repeat("a", 52) }, nil},
		{"53 characters", func(c *batchv1.CronJob) { c.Metadata.Name = strings.Repeat("a", 53) },
			[]string{`metadata.name: Invalid value: "` + strings.Repeat("a", 53) + `": must be no more than 52 characters`}},
		{"TZ in the schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" },
			[]string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{"CRON_TZ in the schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "CRON_TZ=Europe/Paris @daily" },
			[]string{`spec.schedule: Invalid value: "CRON_TZ=Europe/Paris @daily": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{"unknown zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("Mars/Olympus") },
			[]string{`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`}},
		{"empty zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("") },
			[]string{`spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string`}},
		{"local zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("Local") },
			[]string{`spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`}},
		{"a POSIX string", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("EST5EDT,M3.2.0,M11.1.0") },
			[]string{`spec.timeZone: Invalid value: "EST5EDT,M3.2.0,M11.1.0": unknown time zone EST5EDT,M3.2.0,M11.1.0`}},
		{"a path", func(c *batchv1.CronJob) { c.Spec.TimeZone = proto.String("../etc/passwd") },
			[]string{`spec.timeZone: Invalid value: "../etc/passwd": unknown time zone ../etc/passwd`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCronJob()
			tc.change(c)
			expectMessages(t, ValidateCronJobCreate(c), tc.want...)
		})
	}
}

func TestValidateCronJobUpdate(t *testing.T) {
	old := newCronJob()
	old.Spec.Schedule = "TZ=UTC 0 * * * *"
	old.Spec.TimeZone = nil
	// An old object that named its zone in the schedule may keep it...
	c := proto.Clone(old).(*batchv1.CronJob)
	c.Spec.Schedule = "TZ=UTC 30 * * * *"
	expectMessages(t, ValidateCronJobUpdate(c, old))
	// ...but not together with spec.timeZone.
	c.Spec.TimeZone = proto.String("UTC")
	expectMessages(t, ValidateCronJobUpdate(c, old),
		`spec.schedule: Invalid value: "TZ=UTC 30 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule`)
	// One without may not gain it.
	plain := newCronJob()
	c = proto.Clone(plain).(*batchv1.CronJob)
	c.Spec.Schedule = "TZ=UTC 0 * * * *"
	expectMessages(t, ValidateCronJobUpdate(c, plain),
		`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`)
	// A long name stays allowed on update.
	long := newCronJob()
	long.Metadata.Name = strings.Repeat("a", 60)
	expectMessages(t, ValidateCronJobUpdate(long, long))
}
