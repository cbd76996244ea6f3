package printers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func init() {
	register("batch", "Job", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Status", "string", "Status of the job."),
			col("Completions", "string", "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."),
			col("Duration", "string", "Time required to complete the job."),
			ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
			wide(col("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors")),
		},
		Cells: typed(jobCells),
	})
}

// jobCells: the status is the first of Complete, Failed, Terminating,
// Suspended, FailureTarget, SuccessCriteriaMet that holds, else Running;
// completions are succeeded/wanted ("0/1 of 3" for a work queue of three
// workers); the duration runs from the start to the completion, or now.
func jobCells(j *batchv1.Job, now time.Time) []any {
	sp, st := j.GetSpec(), j.GetStatus()
	var completions string
	switch {
	case sp.Completions != nil:
		completions = fmt.Sprintf("%d/%d", st.GetSucceeded(), sp.GetCompletions())
	case sp.GetParallelism() > 1:
		completions = fmt.Sprintf("%d/1 of %d", st.GetSucceeded(), sp.GetParallelism())
	default:
		completions = fmt.Sprintf("%d/1", st.GetSucceeded())
	}
	var dur string
	switch {
	case st.StartTime == nil:
	case st.CompletionTime == nil:
		dur = duration.HumanDuration(now.Sub(st.GetStartTime().AsTime()))
	default:
		dur = duration.HumanDuration(st.GetCompletionTime().AsTime().Sub(st.GetStartTime().AsTime()))
	}
	names, images := containers(sp.GetTemplate())
	return []any{j.GetMetadata().GetName(), jobStatus(j), completions, dur, Age(j.GetMetadata(), now),
		names, images, FormatLabelSelector(sp.GetSelector())}
}

func jobStatus(j *batchv1.Job) string {
	has := func(t string) bool {
		for _, c := range j.GetStatus().GetConditions() {
			if c.GetType() == t && c.GetStatus() == "True" {
				return true
			}
		}
		return false
	}
	switch {
	case has("Complete"):
		return "Complete"
	case has("Failed"):
		return "Failed"
	case j.GetMetadata().GetDeletionTimestamp() != nil:
		return "Terminating"
	case has("Suspended"):
		return "Suspended"
	case has("FailureTarget"):
		return "FailureTarget"
	case has("SuccessCriteriaMet"):
		return "SuccessCriteriaMet"
	}
	return "Running"
}
