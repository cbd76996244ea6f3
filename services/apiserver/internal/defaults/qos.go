package defaults

import (
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// QOSClass is the quality-of-service class Kubernetes computes for a pod
// spec from the cpu and memory of all its containers: BestEffort when none
// requests or limits any, Guaranteed when every container limits both and
// the requests equal the limits, Burstable otherwise. Zero quantities
// count as unset.
func QOSClass(s *corev1.PodSpec) string {
	requests, limits := map[string]resource.Quantity{}, map[string]resource.Quantity{}
	guaranteed := true
	for _, c := range allContainers(s) {
		sum(requests, c.GetResources().GetRequests())
		found := sum(limits, c.GetResources().GetLimits())
		if !found["cpu"] || !found["memory"] {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return "BestEffort"
	}
	if guaranteed && len(requests) == len(limits) {
		for name, r := range requests {
			if l, ok := limits[name]; !ok || l.Cmp(r) != 0 {
				guaranteed = false
			}
		}
		if guaranteed {
			return "Guaranteed"
		}
	}
	return "Burstable"
}

// sum adds the positive cpu and memory quantities of list into total and
// reports which it found.
func sum(total map[string]resource.Quantity, list map[string]*metav1.Quantity) map[string]bool {
	found := map[string]bool{}
	for _, name := range []string{"cpu", "memory"} {
		q, ok := list[name]
		if !ok {
			continue
		}
		v, err := resource.ParseQuantity(q.GetString_())
		if err != nil || v.Sign() <= 0 {
			continue
		}
		found[name] = true
		t := total[name]
		t.Add(v)
		total[name] = t
	}
	return found
}
