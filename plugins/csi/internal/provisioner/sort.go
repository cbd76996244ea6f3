package provisioner

import (
	"sort"

	v1 "k8s.io/api/core/v1"
)

// sortRequirements orders requirements by key, so a PV reads the same
// whatever order the driver's topology map gave.
func sortRequirements(rs []v1.NodeSelectorRequirement) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Key < rs[j].Key })
}
