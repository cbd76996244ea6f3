package storage

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

const (
	driver   = "local.csi.skiff.dev"
	topoKey  = "topology.local.csi.skiff.dev/node"
	wffc     = "standard"
	imm      = "fast"
	static   = "manual"
	zoneKey1 = "topology.kubernetes.io/zone"
)

// bindingStore is a cluster with a WaitForFirstConsumer class of the
// local driver (capacity published), an Immediate class, a class with no
// provisioner, and node-1's CSINode.
func bindingStore() *Store {
	s := NewStore()
	s.SetClass(&Class{Name: wffc, Provisioner: driver, BindingMode: ModeWaitForConsumer})
	s.SetClass(&Class{Name: imm, Provisioner: driver, BindingMode: "Immediate"})
	s.SetClass(&Class{Name: static, Provisioner: noProvisioner, BindingMode: ModeWaitForConsumer})
	s.SetDriver(&Driver{Name: driver, StorageCapacity: true})
	for _, n := range []string{"node-1", "node-2"} {
		s.SetCSINode(&CSINode{Name: n, Drivers: map[string]CSINodeDriver{driver: {NodeID: n, TopologyKeys: []string{topoKey}}}})
		s.SetCapacity(&Capacity{Namespace: "kube-system", Name: "cap-" + n, ClassName: wffc, Capacity: ptr(10 * gi),
			NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{topoKey: n}}})
	}
	return s
}

func localNode(name string) *framework.NodeInfo {
	return node(name, map[string]string{topoKey: name, "kubernetes.io/hostname": name})
}

func TestVolumeBindingFilter(t *testing.T) {
	const (
		uu = framework.UnschedulableAndUnresolvable
	)
	for _, tc := range []struct {
		name   string
		setup  func(s *Store)
		pod    *corev1.Pod
		node   *framework.NodeInfo
		code   framework.Code
		reason string
	}{
		{name: "no claims", pod: pod("p"), node: localNode("node-1")},
		{name: "missing claim", pod: pod("p", "data"), node: localNode("node-1"), code: uu,
			reason: `persistentvolumeclaim "data" not found`},
		{name: "claim being deleted", setup: func(s *Store) {
			c := claim("data", wffc, "")
			c.Metadata.DeletionTimestamp = nowStamp()
			s.SetClaim(c)
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: `persistentvolumeclaim "data" is being deleted`},
		{name: "unbound immediate claim", setup: func(s *Store) { s.SetClaim(claim("data", imm, "")) },
			pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonUnboundImmediat},
		{name: "unbound claim without class is immediate", setup: func(s *Store) { s.SetClaim(claim("data", "", "")) },
			pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonUnboundImmediat},
		{name: "claim naming a volume without bind-completed is immediate", setup: func(s *Store) {
			c := claim("data", wffc, "pv-1")
			delete(c.Metadata.Annotations, AnnBindCompleted)
			s.SetClaim(c)
			s.SetVolume(&Volume{Name: "pv-1", ClassName: wffc})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonUnboundImmediat},
		{name: "claim of a missing class is immediate", setup: func(s *Store) { s.SetClaim(claim("data", "gone", "")) },
			pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonUnboundImmediat},
		{name: "bound volume pinned here", setup: func(s *Store) {
			s.SetClaim(claim("data", wffc, "pv-1"))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: wffc, NodeAffinity: pinned(topoKey, "node-1")})
		}, pod: pod("p", "data"), node: localNode("node-1")},
		{name: "bound volume pinned elsewhere", setup: func(s *Store) {
			s.SetClaim(claim("data", wffc, "pv-1"))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: wffc, NodeAffinity: pinned(topoKey, "node-2")})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonNodeConflict},
		{name: "bound to missing volume", setup: func(s *Store) { s.SetClaim(claim("data", wffc, "pv-gone")) },
			pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonPVNotExist},
		{name: "provision with capacity", setup: func(s *Store) { s.SetClaim(claim("data", wffc, "")) },
			pod: pod("p", "data"), node: localNode("node-1")},
		{name: "provision without enough capacity", setup: func(s *Store) {
			c := claim("data", wffc, "")
			c.Spec.Resources.Requests["storage"] = &metav1.Quantity{String_: "20Gi"}
			s.SetClaim(c)
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonNotEnoughSpace},
		{name: "provision where no capacity is published", setup: func(s *Store) { s.SetClaim(claim("data", wffc, "")) },
			pod: pod("p", "data"), node: localNode("node-3"), code: uu, reason: ReasonNotEnoughSpace},
		{name: "driver not on the node's CSINode", setup: func(s *Store) {
			s.SetClaim(claim("data", wffc, ""))
			s.SetCSINode(&CSINode{Name: "node-1", Drivers: map[string]CSINodeDriver{}})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "node lacks the driver's topology label", setup: func(s *Store) { s.SetClaim(claim("data", wffc, "")) },
			pod: pod("p", "data"), node: node("node-1", nil), code: uu, reason: ReasonBindConflict},
		{name: "class allowedTopologies exclude the node", setup: func(s *Store) {
			s.SetClass(&Class{Name: wffc, Provisioner: driver, BindingMode: ModeWaitForConsumer,
				AllowedTopologies: []TopologyTerm{{topoKey: {"node-2"}}}})
			s.SetClaim(claim("data", wffc, ""))
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "selected node is another", setup: func(s *Store) {
			c := claim("data", wffc, "")
			c.Metadata.Annotations[AnnSelectedNode] = "node-2"
			s.SetClaim(c)
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "static volume fits the node", setup: func(s *Store) {
			s.SetClaim(claim("data", static, ""))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: static, Capacity: 2 * gi, AccessModes: []string{"ReadWriteOnce"},
				NodeAffinity: pinned(topoKey, "node-1"), Phase: "Available"})
		}, pod: pod("p", "data"), node: localNode("node-1")},
		{name: "static volume on another node, no provisioner", setup: func(s *Store) {
			s.SetClaim(claim("data", static, ""))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: static, Capacity: 2 * gi, AccessModes: []string{"ReadWriteOnce"},
				NodeAffinity: pinned(topoKey, "node-2"), Phase: "Available"})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "static volume of another volumeAttributesClass", setup: func(s *Store) {
			s.SetClaim(claim("data", static, ""))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: static, VAC: "gold", Capacity: 2 * gi, AccessModes: []string{"ReadWriteOnce"}, Phase: "Available"})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "beta class annotation wins over spec", setup: func(s *Store) {
			c := claim("data", imm, "")
			c.Metadata.Annotations["volume.beta.kubernetes.io/storage-class"] = wffc
			s.SetClaim(c)
		}, pod: pod("p", "data"), node: localNode("node-1")},
		{name: "static volume too small", setup: func(s *Store) {
			s.SetClaim(claim("data", static, ""))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: static, Capacity: gi / 2, AccessModes: []string{"ReadWriteOnce"}, Phase: "Available"})
		}, pod: pod("p", "data"), node: localNode("node-1"), code: uu, reason: ReasonBindConflict},
		{name: "bound conflict and bind conflict together", setup: func(s *Store) {
			s.SetClaim(claim("a", wffc, "pv-1"))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: wffc, NodeAffinity: pinned(topoKey, "node-2")})
			s.SetClaim(claim("b", static, ""))
		}, pod: pod("p", "a", "b"), node: localNode("node-1"), code: uu, reason: ReasonNodeConflict + ", " + ReasonBindConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			if tc.setup != nil {
				tc.setup(s)
			}
			pl := New(s, nil, 0).Binding
			wantStatus(t, runFilter(t, pl, tc.pod, tc.node), tc.code, tc.reason)
		})
	}
}
