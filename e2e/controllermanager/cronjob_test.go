package controllermanager

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestCronJobRunsOnSchedule: the controller-manager's cronjob controller,
// under its own service account and Kubernetes' role for it, creates a
// CronJob's Job at the next minute on the real clock, named by the
// schedule time, and records it in the status and in an event.
func TestCronJobRunsOnSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	framework.StartControllerManager(t, srv, "--leader-elect=false", "--controllers=cronjob")
	c := srv.Client()
	ctx := context.Background()
	cj, err := c.BatchV1().CronJobs("default").Create(ctx, &batchv1.CronJob{
		Metadata: &metav1.ObjectMeta{Name: "minutely"},
		Spec: &batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: &batchv1.JobTemplateSpec{Spec: &batchv1.JobSpec{
			Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: proto.String("Never"),
				Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}}}}},
	}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	due := cj.GetMetadata().GetCreationTimestamp().AsTime().Truncate(time.Minute).Add(time.Minute)
	name := fmt.Sprintf("minutely-%d", due.Unix()/60)
	framework.Eventually(t, 90*time.Second, "the Job of "+due.Format(time.RFC3339), func() error {
		j, err := c.BatchV1().Jobs("default").Get(ctx, name)
		if err != nil {
			return err
		}
		if got := j.GetMetadata().GetAnnotations()["batch.kubernetes.io/cronjob-scheduled-timestamp"]; got != due.UTC().Format(time.RFC3339) {
			return fmt.Errorf("scheduled-timestamp %q, want %q", got, due.UTC().Format(time.RFC3339))
		}
		return nil
	})
	framework.Eventually(t, 30*time.Second, "the CronJob's status", func() error {
		cj, err := c.BatchV1().CronJobs("default").Get(ctx, "minutely")
		if err != nil {
			return err
		}
		st := cj.GetStatus()
		if len(st.GetActive()) != 1 || st.GetActive()[0].GetName() != name || !st.GetLastScheduleTime().AsTime().Equal(due) {
			return fmt.Errorf("status %v, want %s active and last scheduled at %v", st, name, due)
		}
		return nil
	})
	framework.Eventually(t, 30*time.Second, "the SuccessfulCreate event", func() error {
		l, err := c.CoreV1().Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range l.GetItems() {
			if e.GetReason() == "SuccessfulCreate" && e.GetSource().GetComponent() == "cronjob-controller" &&
				strings.Contains(e.GetMessage(), name) {
				return nil
			}
		}
		return fmt.Errorf("no SuccessfulCreate event of the cronjob-controller among %d events", len(l.GetItems()))
	})
}
