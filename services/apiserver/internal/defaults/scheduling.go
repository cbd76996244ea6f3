package defaults

import (
	"google.golang.org/protobuf/proto"

	schedulingv1 "skiff.dev/api/scheduling/v1"
)

// PriorityClass: a class that says nothing preempts lower priorities.
func PriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		pc.PreemptionPolicy = proto.String("PreemptLowerPriority")
	}
}
