package defaults

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// LimitRange: canonical quantities, and a Container item's defaults as
// Kubernetes fills them in: the default limit is the max, the default
// request the default limit, else the min.
func LimitRange(lr *corev1.LimitRange) {
	for _, item := range lr.GetSpec().GetLimits() {
		for _, list := range []map[string]*metav1.Quantity{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			Canonical(list)
		}
		if item.GetType() != "Container" {
			continue
		}
		item.Default = fillFrom(item.Default, item.GetMax())
		item.DefaultRequest = fillFrom(item.DefaultRequest, item.GetDefault())
		item.DefaultRequest = fillFrom(item.DefaultRequest, item.GetMin())
	}
}

// fillFrom adds to list the resources of from it lacks.
func fillFrom(list, from map[string]*metav1.Quantity) map[string]*metav1.Quantity {
	for name, q := range from {
		if _, ok := list[name]; ok {
			continue
		}
		if list == nil {
			list = map[string]*metav1.Quantity{}
		}
		list[name] = proto.Clone(q).(*metav1.Quantity)
	}
	return list
}

// ResourceQuota: canonical quantities (Kubernetes has no other defaults
// for quotas).
func ResourceQuota(q *corev1.ResourceQuota) {
	Canonical(q.GetSpec().GetHard())
	Canonical(q.GetStatus().GetHard())
	Canonical(q.GetStatus().GetUsed())
}
