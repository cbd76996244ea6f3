package defaults

import (
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// DaemonSet: RollingUpdate with one pod unavailable and no surge, ten
// old revisions kept, and the pod template's defaults.
func DaemonSet(ds *appsv1.DaemonSet) {
	if ds.Spec == nil {
		ds.Spec = &appsv1.DaemonSetSpec{}
	}
	sp := ds.Spec
	if sp.UpdateStrategy == nil {
		sp.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{}
	}
	if sp.UpdateStrategy.Type == "" {
		sp.UpdateStrategy.Type = "RollingUpdate"
	}
	if sp.UpdateStrategy.Type == "RollingUpdate" {
		if sp.UpdateStrategy.RollingUpdate == nil {
			sp.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		ru := sp.UpdateStrategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = &metav1.IntOrString{IntVal: 1}
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = &metav1.IntOrString{IntVal: 0}
		}
	}
	if sp.RevisionHistoryLimit == nil {
		sp.RevisionHistoryLimit = proto.Int32(10)
	}
	template(&sp.Template)
}
