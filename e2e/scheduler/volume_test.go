package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const (
	localDriver = "local.csi.skiff.dev"
	localTopo   = "topology.local.csi.skiff.dev/node"
)

// storageNode is a node the local driver runs on: labelled with its
// topology key and listed in the node's CSINode.
func (e *env) storageNode(name string) {
	e.t.Helper()
	e.node(name, "4", map[string]string{localTopo: name})
	cn := &storagev1.CSINode{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &storagev1.CSINodeSpec{
		Drivers: []*storagev1.CSINodeDriver{{Name: localDriver, NodeId: name, TopologyKeys: []string{localTopo}}}}}
	if _, err := e.c.StorageV1().CSINodes().Create(e.ctx, cn, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) claim(name, class, volume string) *corev1.PersistentVolumeClaim {
	e.t.Helper()
	c := &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &corev1.PersistentVolumeClaimSpec{AccessModes: []string{"ReadWriteOnce"}, StorageClassName: proto.String(class),
			VolumeName: volume, Resources: &corev1.VolumeResourceRequirements{Requests: map[string]*metav1.Quantity{"storage": q("1Gi")}}}}
	created, err := e.c.CoreV1().PersistentVolumeClaims("default").Create(e.ctx, c, client.WriteOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return created
}

func withClaim(name string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, &corev1.Volume{Name: name, VolumeSource: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	}
}

// bindAsPVController plays the PV controller: a volume for the claim
// pinned to node, and the claim bound to it.
func (e *env) bindAsPVController(claim, class, volume, node string) {
	e.t.Helper()
	pvcs := e.c.CoreV1().PersistentVolumeClaims("default")
	c, err := pvcs.Get(e.ctx, claim)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.c.CoreV1().PersistentVolumes().Create(e.ctx, pinnedVolume(volume, class, node, c), client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
	c.Spec.VolumeName = volume
	if c.Metadata.Annotations == nil {
		c.Metadata.Annotations = map[string]string{}
	}
	c.Metadata.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
	if c, err = pvcs.Update(e.ctx, c, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
	c.Status = &corev1.PersistentVolumeClaimStatus{Phase: "Bound", AccessModes: []string{"ReadWriteOnce"},
		Capacity: map[string]*metav1.Quantity{"storage": q("1Gi")}}
	if _, err := pvcs.UpdateStatus(e.ctx, c, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// pinnedVolume is a local volume on node, bound to c when c is not nil.
func pinnedVolume(name, class, node string, c *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.PersistentVolumeSpec{
		Capacity: map[string]*metav1.Quantity{"storage": q("1Gi")}, AccessModes: []string{"ReadWriteOnce"},
		PersistentVolumeReclaimPolicy: "Delete", StorageClassName: class,
		PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: localDriver, VolumeHandle: name}},
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{{
			MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: localTopo, Operator: "In", Values: []string{node}}}}}}}}}
	if c != nil {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", ApiVersion: "v1", Namespace: "default",
			Name: c.GetMetadata().GetName(), Uid: c.GetMetadata().GetUid()}
	}
	return pv
}

// TestWaitForFirstConsumerClaimFollowsThePod: the scheduler picks the
// node with storage capacity, annotates the claim with it, and binds the
// pod only once the claim is Bound.
func TestWaitForFirstConsumerClaimFollowsThePod(t *testing.T) {
	e := setup(t)
	e.storageNode("n1")
	e.storageNode("n2")
	sc := &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: "standard"}, Provisioner: localDriver,
		VolumeBindingMode: proto.String("WaitForFirstConsumer")}
	if _, err := e.c.StorageV1().StorageClasses().Create(e.ctx, sc, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	drv := &storagev1.CSIDriver{Metadata: &metav1.ObjectMeta{Name: localDriver}, Spec: &storagev1.CSIDriverSpec{
		AttachRequired: proto.Bool(false), StorageCapacity: proto.Bool(true)}}
	if _, err := e.c.StorageV1().CSIDrivers().Create(e.ctx, drv, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only n2 has room.
	for node, size := range map[string]string{"n1": "100Mi", "n2": "10Gi"} {
		cap := &storagev1.CSIStorageCapacity{Metadata: &metav1.ObjectMeta{Name: "cap-" + node, Namespace: "default"},
			StorageClassName: "standard", Capacity: q(size),
			NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{localTopo: node}}}
		if _, err := e.c.StorageV1().CSIStorageCapacities("default").Create(e.ctx, cap, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.claim("data", "standard", "")
	e.pod("db", withClaim("data"))

	var selected string
	framework.Eventually(t, 60*time.Second, "the claim gets the selected node", func() error {
		c, err := e.c.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "data")
		if err != nil {
			return err
		}
		if selected = c.GetMetadata().GetAnnotations()["volume.kubernetes.io/selected-node"]; selected == "" {
			return fmt.Errorf("annotations %v", c.GetMetadata().GetAnnotations())
		}
		return nil
	})
	if selected != "n2" {
		t.Fatalf("selected node %s, want n2 (the only one with capacity)", selected)
	}
	if p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "db"); err != nil || p.GetSpec().GetNodeName() != "" {
		t.Fatalf("pod bound to %q (err %v) before its claim is Bound", p.GetSpec().GetNodeName(), err)
	}
	e.bindAsPVController("data", "standard", "pvc-data", selected)
	if got := e.nodeOf("db"); got != "n2" {
		t.Fatalf("pod landed on %s, want n2", got)
	}
}

// TestPodsSharingAClaimLandOnOneNode: two pods of one WaitForFirstConsumer
// claim, created together on two nodes that both fit: the first pod's
// Reserve holds the claim with its node, so the second goes there too; the
// selected node, watched from the claim's creation, is never overwritten,
// and the second pod never fails in PreBind over it.
func TestPodsSharingAClaimLandOnOneNode(t *testing.T) {
	e := setup(t)
	e.storageNode("n1")
	e.storageNode("n2")
	sc := &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: "standard"}, Provisioner: localDriver,
		VolumeBindingMode: proto.String("WaitForFirstConsumer")}
	if _, err := e.c.StorageV1().StorageClasses().Create(e.ctx, sc, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	created := e.claim("shared", "standard", "")
	history := e.watchSelectedNode(created)
	e.pod("a", withClaim("shared"))
	e.pod("b", withClaim("shared"))
	var selected string
	framework.Eventually(t, 60*time.Second, "the claim gets the selected node", func() error {
		c, err := e.c.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "shared")
		if err != nil {
			return err
		}
		if selected = c.GetMetadata().GetAnnotations()["volume.kubernetes.io/selected-node"]; selected == "" {
			return fmt.Errorf("annotations %v", c.GetMetadata().GetAnnotations())
		}
		return nil
	})
	e.bindAsPVController("shared", "standard", "pvc-shared", selected)
	for _, name := range []string{"a", "b"} {
		if got := e.nodeOf(name); got != selected {
			t.Errorf("pod %s landed on %s, want %s (the claim's selected node)", name, got, selected)
		}
	}
	if got := history(); len(got) != 1 || got[0] != selected {
		t.Errorf("the claim's selected node went through %q, want only %q", got, selected)
	}
	events, err := e.c.CoreV1().Events("default").List(e.ctx, client.ListOptions{FieldSelector: "involvedObject.name=b,reason=FailedScheduling"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.GetItems() {
		if strings.Contains(ev.GetMessage(), "PreBind") {
			t.Errorf("pod b failed in PreBind: %s", ev.GetMessage())
		}
	}
}

// watchSelectedNode watches the claim from its creation; the function
// returned waits until the watch has caught up with the claim as it is
// now and answers each change of its selected-node annotation, in order
// (a removal as "").
func (e *env) watchSelectedNode(c *corev1.PersistentVolumeClaim) func() []string {
	e.t.Helper()
	pvcs := e.c.CoreV1().PersistentVolumeClaims("default")
	w, err := pvcs.Watch(e.ctx, client.ListOptions{FieldSelector: "metadata.name=" + c.GetMetadata().GetName(),
		ResourceVersion: c.GetMetadata().GetResourceVersion()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	return func() []string {
		e.t.Helper()
		now, err := pvcs.Get(e.ctx, c.GetMetadata().GetName())
		if err != nil {
			e.t.Fatal(err)
		}
		var seen []string
		last := ""
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					e.t.Fatal("the watch of the claim ended")
				}
				if node := ev.Object.GetMetadata().GetAnnotations()["volume.kubernetes.io/selected-node"]; node != last {
					seen, last = append(seen, node), node
				}
				if ev.Object.GetMetadata().GetResourceVersion() == now.GetMetadata().GetResourceVersion() {
					return seen
				}
			case <-deadline:
				e.t.Fatalf("the watch did not reach resourceVersion %s; saw %q", now.GetMetadata().GetResourceVersion(), seen)
			}
		}
	}
}

// TestPodFollowsItsPinnedVolume: a claim bound to a volume pinned to n2
// takes its pod there; a claim that does not exist is reported.
func TestPodFollowsItsPinnedVolume(t *testing.T) {
	e := setup(t)
	e.storageNode("n1")
	e.storageNode("n2")
	e.claim("pinned", "manual", "")
	e.bindAsPVController("pinned", "manual", "pv-n2", "n2")
	for i := range 4 {
		e.pod(fmt.Sprintf("user-%d", i), withClaim("pinned"))
	}
	for i := range 4 {
		if got := e.nodeOf(fmt.Sprintf("user-%d", i)); got != "n2" {
			t.Fatalf("user-%d landed on %s, want n2 where its volume is", i, got)
		}
	}

	e.pod("orphan", withClaim("missing"))
	want := `0/2 nodes are available: persistentvolumeclaim "missing" not found.` +
		" preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	framework.Eventually(t, 60*time.Second, "the pod is reported unschedulable", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "orphan")
		if err != nil {
			return err
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "PodScheduled" && c.GetReason() == "Unschedulable" && c.GetMessage() == want {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.GetStatus().GetConditions())
	})
	// The claim appears: the pod is retried and provisioned for.
	e.claim("missing", "manual", "")
	e.bindAsPVController("missing", "manual", "pv-n1", "n1")
	if got := e.nodeOf("orphan"); got != "n1" {
		t.Fatalf("orphan landed on %s, want n1", got)
	}
}
