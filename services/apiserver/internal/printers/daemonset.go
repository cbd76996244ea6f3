package printers

import (
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func init() {
	register("apps", "DaemonSet", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Desired", "integer", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"),
			col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"),
			col("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
			col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
			col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
			col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"),
			ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
			wide(col("Selector", "string", "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors")),
		},
		Cells: typed(func(ds *appsv1.DaemonSet, now time.Time) []any {
			st := ds.GetStatus()
			names, images := containers(ds.GetSpec().GetTemplate())
			return []any{ds.GetMetadata().GetName(), int64(st.GetDesiredNumberScheduled()), int64(st.GetCurrentNumberScheduled()),
				int64(st.GetNumberReady()), int64(st.GetUpdatedNumberScheduled()), int64(st.GetNumberAvailable()),
				nodeSelector(ds), Age(ds.GetMetadata(), now),
				names, images, FormatLabelSelector(ds.GetSpec().GetSelector())}
		}),
	})
}

// nodeSelector renders the template's node selector as Kubernetes'
// labels.FormatLabels does: "<none>" when empty.
func nodeSelector(ds *appsv1.DaemonSet) string {
	if s := formatLabels(ds.GetSpec().GetTemplate().GetSpec().GetNodeSelector()); s != "" {
		return s
	}
	return "<none>"
}
