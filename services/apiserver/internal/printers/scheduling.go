package printers

import (
	"time"

	metav1 "skiff.dev/api/meta/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
)

// PriorityClass's columns are Kubernetes': the preemption policy shows
// without -o wide, as the server prints it wide.
func init() {
	register("scheduling.k8s.io", "PriorityClass", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Value", "integer", "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."),
			col("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority."),
			ageCol(),
			col("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
		},
		Cells: typed(func(pc *schedulingv1.PriorityClass, now time.Time) []any {
			return []any{pc.GetMetadata().GetName(), int64(pc.GetValue()), pc.GetGlobalDefault(), Age(pc.GetMetadata(), now), pc.GetPreemptionPolicy()}
		}),
	})
}
