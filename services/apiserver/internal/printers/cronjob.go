package printers

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// CronJob's columns are Kubernetes': NAME SCHEDULE TIMEZONE SUSPEND ACTIVE
// LAST SCHEDULE AGE, and with -o wide the job template's containers, images
// and selector.
func init() {
	register("batch", "CronJob", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
			col("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
			col("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false."),
			col("Active", "integer", "A list of pointers to currently running jobs."),
			col("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
			ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
			wide(col("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors")),
		},
		Cells: typed(cronJobCells),
	})
}

func cronJobCells(cj *batchv1.CronJob, now time.Time) []any {
	sp, st := cj.GetSpec(), cj.GetStatus()
	if sp == nil {
		sp = &batchv1.CronJobSpec{}
	}
	last := "<none>"
	if t := st.GetLastScheduleTime(); t != nil {
		last = duration.HumanDuration(now.Sub(t.AsTime()))
	}
	zone := "<none>"
	if sp.TimeZone != nil {
		zone = sp.GetTimeZone()
	}
	suspend := "<unset>"
	if sp.Suspend != nil {
		suspend = "False"
		if sp.GetSuspend() {
			suspend = "True"
		}
	}
	names, images := containers(sp.GetJobTemplate().GetSpec().GetTemplate())
	return []any{cj.GetMetadata().GetName(), sp.GetSchedule(), zone, suspend, int64(len(st.GetActive())), last,
		Age(cj.GetMetadata(), now), names, images, FormatLabelSelector(sp.GetJobTemplate().GetSpec().GetSelector())}
}
