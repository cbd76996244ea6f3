package kubectl

import (
	"fmt"
	"strings"
	"testing"
)

// TestCronJobs: kubectl on batch/v1 CronJobs — the everyday commands and
// Kubernetes' columns, kubectl create cronjob with Kubernetes' defaults,
// kubectl create job --from=cronjob/NAME, describe, and the validation of
// schedules and time zones.
func TestCronJobs(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "namespace", "cron")
	exerciseKind(t, k, kindCase{
		resource:  "cronjobs",
		namespace: "cron",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
  namespace: cron
  labels: {e2e: kinds}
spec:
  schedule: "*/5 * * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: report, image: busybox}
`, name)
		},
		columns: []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"},
		cells:   []string{"first", "*/5 * * * *", "Europe/Berlin", "False", "0", "<none>", "*"},
	})

	out := k.run("create", "cronjob", "nightly", "-n", "cron", "--image=busybox", "--schedule=0 3 * * *", "--", "echo", "hi")
	mustContain(t, "kubectl create cronjob", out, "cronjob.batch/nightly created")
	cj := k.jsonOf("get", "cj", "nightly", "-n", "cron")
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"spec", "schedule"}, "0 3 * * *"},
		{[]any{"spec", "concurrencyPolicy"}, "Allow"},
		{[]any{"spec", "suspend"}, false},
		{[]any{"spec", "successfulJobsHistoryLimit"}, float64(3)},
		{[]any{"spec", "failedJobsHistoryLimit"}, float64(1)},
		{[]any{"spec", "jobTemplate", "spec", "template", "spec", "restartPolicy"}, "OnFailure"},
		{[]any{"spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "command", 1}, "hi"},
	} {
		if got := path(cj, c.path...); got != c.want {
			t.Errorf("kubectl create cronjob: %v = %v, want %v", c.path, got, c.want)
		}
	}

	wide := strings.Split(strings.TrimSpace(k.run("get", "cronjobs", "nightly", "-n", "cron", "-o", "wide")), "\n")
	if len(wide) != 2 {
		t.Fatalf("kubectl get -o wide: got %q", wide)
	}
	if got, want := fields(wide[0]), []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("kubectl get -o wide columns: got %q, want %q", got, want)
	}
	mustContain(t, "kubectl get -o wide row", wide[1], "nightly", "0 3 * * *", "busybox", "<none>")

	out = k.run("get", "all", "-n", "cron")
	mustContain(t, "kubectl get all", out, "cronjob.batch/nightly")

	out = k.run("describe", "cronjob", "nightly", "-n", "cron")
	mustContain(t, "kubectl describe cronjob", out, "Name:", "nightly", "Schedule:", "0 3 * * *",
		"Concurrency Policy:", "Allow", "Suspend:", "False", "Successful Job History Limit:", "3",
		"Failed Job History Limit:", "1", "Image:", "busybox")

	out = k.run("create", "job", "by-hand", "-n", "cron", "--from=cronjob/nightly")
	mustContain(t, "kubectl create job --from=cronjob", out, "job.batch/by-hand created")
	job := k.jsonOf("get", "job", "by-hand", "-n", "cron")
	if got := path(job, "metadata", "annotations", "cronjob.kubernetes.io/instantiate"); got != "manual" {
		t.Errorf("job from a cronjob: annotation cronjob.kubernetes.io/instantiate = %v, want manual", got)
	}
	if got := path(job, "metadata", "ownerReferences", 0, "name"); got != "nightly" {
		t.Errorf("job from a cronjob: owner %v, want the CronJob nightly", got)
	}
	if got := path(job, "spec", "template", "spec", "containers", 0, "command", 1); got != "hi" {
		t.Errorf("job from a cronjob: command %v, want the template's", got)
	}

	for _, c := range []struct {
		schedule, want string
	}{
		{"61 * * * *", `spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`},
		{"TZ=UTC 0 * * * *", `spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
	} {
		out, err := k.try("", "create", "cronjob", "bad", "-n", "cron", "--image=busybox", "--schedule="+c.schedule)
		if err == nil {
			t.Errorf("kubectl create cronjob --schedule=%q: accepted, want refused", c.schedule)
		}
		mustContain(t, "kubectl create cronjob --schedule="+c.schedule, out, c.want)
	}
	out, err := k.try(`apiVersion: batch/v1
kind: CronJob
metadata: {name: mars, namespace: cron}
spec:
  schedule: "@daily"
  timeZone: Mars/Olympus
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
`, "apply", "-f", "-")
	if err == nil {
		t.Error("a CronJob in time zone Mars/Olympus: accepted, want refused")
	}
	mustContain(t, "unknown time zone", out, `spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`)
	out, err = k.try("", "create", "cronjob", strings.Repeat("n", 53), "-n", "cron", "--image=busybox", "--schedule=@hourly")
	if err == nil {
		t.Error("a CronJob name of 53 characters: accepted, want refused")
	}
	mustContain(t, "long name", out, "must be no more than 52 characters")
}
