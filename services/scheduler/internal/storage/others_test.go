package storage

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

func TestVolumeRestrictionsFilter(t *testing.T) {
	rwop := claim("data", wffc, "pv-1", readWriteOncePod)
	user := pod("user", "data")
	for _, tc := range []struct {
		name   string
		claims []*corev1.PersistentVolumeClaim
		pod    *corev1.Pod
		others []*corev1.Pod // on a second node
		code   framework.Code
		reason string
	}{
		{name: "no claims", pod: pod("p")},
		{name: "missing claim", pod: pod("p", "data"), code: framework.UnschedulableAndUnresolvable,
			reason: `persistentvolumeclaim "data" not found`},
		{name: "RWOP claim unused", claims: []*corev1.PersistentVolumeClaim{rwop}, pod: pod("p", "data")},
		{name: "RWOP claim in use", claims: []*corev1.PersistentVolumeClaim{rwop}, pod: pod("p", "data"),
			others: []*corev1.Pod{user}, code: framework.Unschedulable, reason: ReasonRWOPConflict},
		{name: "RWO claim in use", claims: []*corev1.PersistentVolumeClaim{claim("data", wffc, "pv-1")}, pod: pod("p", "data"),
			others: []*corev1.Pod{user}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStore()
			for _, c := range tc.claims {
				s.SetClaim(c)
			}
			other := node("node-2", nil)
			for _, p := range tc.others {
				other.AddPod(p)
			}
			wantStatus(t, runFilter(t, &VolumeRestrictions{Store: s}, tc.pod, node("node-1", nil), other), tc.code, tc.reason)
		})
	}
}

func TestVolumeZoneFilter(t *testing.T) {
	const (
		zone   = "topology.kubernetes.io/zone"
		region = "topology.kubernetes.io/region"
		beta   = "failure-domain.beta.kubernetes.io/zone"
	)
	uu := framework.UnschedulableAndUnresolvable
	for _, tc := range []struct {
		name       string
		claim      *corev1.PersistentVolumeClaim
		volume     *Volume
		nodeLabels map[string]string
		code       framework.Code
		reason     string
	}{
		{name: "same zone", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{zone: "a"}},
			nodeLabels: map[string]string{zone: "a"}},
		{name: "other zone", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{zone: "a"}},
			nodeLabels: map[string]string{zone: "b"}, code: uu, reason: ReasonZoneConflict},
		{name: "multi-zone volume", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{zone: "a__b"}},
			nodeLabels: map[string]string{zone: "b"}},
		{name: "beta volume label, GA node label", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{beta: "a"}},
			nodeLabels: map[string]string{zone: "a"}},
		{name: "other region", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{region: "r1"}},
			nodeLabels: map[string]string{zone: "a", region: "r2"}, code: uu, reason: ReasonZoneConflict},
		{name: "node without zone labels", claim: claim("data", imm, "pv-1"), volume: &Volume{Name: "pv-1", Labels: map[string]string{zone: "a"}}},
		{name: "missing volume", claim: claim("data", imm, "pv-1"), nodeLabels: map[string]string{zone: "a"},
			code: uu, reason: `persistentvolume "pv-1" not found`},
		{name: "unbound WaitForFirstConsumer claim", claim: claim("data", wffc, ""), nodeLabels: map[string]string{zone: "a"}},
		{name: "unbound immediate claim", claim: claim("data", imm, ""), nodeLabels: map[string]string{zone: "a"},
			code: uu, reason: "PersistentVolume had no name"},
		{name: "unbound claim without class", claim: claim("data", "", ""), nodeLabels: map[string]string{zone: "a"},
			code: uu, reason: "PersistentVolumeClaim had no pv name and storageClass name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			s.SetClaim(tc.claim)
			if tc.volume != nil {
				s.SetVolume(tc.volume)
			}
			wantStatus(t, runFilter(t, &VolumeZone{Store: s}, pod("p", "data"), node("node-1", tc.nodeLabels)), tc.code, tc.reason)
		})
	}
}

func TestNodeVolumeLimitsFilter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    *int32
		existing int // pods on the node, each with its own bound volume
		shared   bool
		// otherOver: the node also has two volumes of another driver
		// whose limit is one.
		otherOver bool
		code      framework.Code
		reason    string
	}{
		{name: "no limit", existing: 5},
		{name: "under the limit", limit: ptr(int32(2)), existing: 1},
		{name: "at the limit", limit: ptr(int32(2)), existing: 2, code: framework.Unschedulable, reason: ReasonMaxVolumeCount},
		{name: "volume already on the node", limit: ptr(int32(2)), existing: 2, shared: true},
		{name: "another driver over its limit is not the pod's concern", limit: ptr(int32(2)), existing: 1, otherOver: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			s.SetCSINode(&CSINode{Name: "node-1", Drivers: map[string]CSINodeDriver{driver: {Allocatable: tc.limit},
				"other.csi": {Allocatable: ptr(int32(1))}}})
			n := localNode("node-1")
			if tc.otherOver {
				for _, name := range []string{"o1", "o2"} {
					s.SetClaim(claim(name, wffc, "pv-"+name))
					s.SetVolume(&Volume{Name: "pv-" + name, Driver: "other.csi", Handle: "h-" + name})
					n.AddPod(pod("user-"+name, name))
				}
			}
			for i := range tc.existing {
				name := string(rune('a' + i))
				s.SetClaim(claim(name, wffc, "pv-"+name))
				s.SetVolume(&Volume{Name: "pv-" + name, Driver: driver, Handle: "h-" + name})
				n.AddPod(pod("user-"+name, name))
			}
			newClaim := "new"
			if tc.shared {
				newClaim = "a"
			} else {
				s.SetClaim(claim("new", wffc, ""))
			}
			wantStatus(t, runFilter(t, &NodeVolumeLimits{Store: s}, pod("p", newClaim), n), tc.code, tc.reason)
		})
	}
}
