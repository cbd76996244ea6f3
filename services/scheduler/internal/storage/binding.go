package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// Names of the plugins and their failure reasons, as Kubernetes words them.
const (
	NameVolumeBinding = "VolumeBinding"

	ReasonBindConflict    = "node(s) didn't find available persistent volumes to bind"
	ReasonNodeConflict    = "node(s) didn't match PersistentVolume's node affinity"
	ReasonNotEnoughSpace  = "node(s) did not have enough free storage"
	ReasonPVNotExist      = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ReasonUnboundImmediat = "pod has unbound immediate PersistentVolumeClaims"
)

// DefaultBindTimeout is how long PreBind waits for the claims to be
// bound, as Kubernetes' bindTimeoutSeconds.
const DefaultBindTimeout = 600 * time.Second

// API writes volume binding decisions to the apiserver. Both write the
// version of the object the decision was based on: when it changed
// meanwhile, the write fails with a conflict and so does PreBind.
type API interface {
	// BindVolume sets the volume's claimRef to the claim, as the PV
	// controller would, with pv.kubernetes.io/bound-by-controller.
	BindVolume(ctx context.Context, volume *Volume, claim *corev1.PersistentVolumeClaim) error
	// SelectNode sets volume.kubernetes.io/selected-node on the claim
	// and returns the claim as written.
	SelectNode(ctx context.Context, claim *corev1.PersistentVolumeClaim, node string) (*corev1.PersistentVolumeClaim, error)
}

// VolumeBinding binds a pod's claims to volumes that fit the node, or has
// them provisioned there (WaitForFirstConsumer), before the pod is bound.
type VolumeBinding struct {
	Store       *Store
	API         API
	BindTimeout time.Duration // 0 is DefaultBindTimeout
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
	_ framework.ReservePlugin   = (*VolumeBinding)(nil)
	_ framework.PreBindPlugin   = (*VolumeBinding)(nil)
)

// Name of the plugin.
func (*VolumeBinding) Name() string { return NameVolumeBinding }

const bindingKey = "VolumeBinding"

// bindingState is one cycle's choices: per node, the volumes to bind and
// the claims to provision.
type bindingState struct {
	claims *podClaims
	mu     sync.Mutex
	byNode map[string]*podVolumes
	chosen *podVolumes // Reserve's
	node   string
}

// podVolumes is what binding the pod's claims on one node takes.
type podVolumes struct {
	static    map[string]*corev1.PersistentVolumeClaim // volume name -> claim
	volumes   map[string]*Volume                       // the static volumes as chosen
	provision []*corev1.PersistentVolumeClaim
}

// PreFilter sorts the pod's claims; pods without claims skip the plugin.
func (pl *VolumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	names := claimNames(pod)
	if len(names) == 0 {
		state.SkipFilter(NameVolumeBinding)
		return nil
	}
	claims, err := pl.Store.claimsOf(pod, names)
	var nf notFoundError
	switch {
	case errors.As(err, &nf):
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, nf.msg)
	case err != nil:
		return framework.AsStatus(err)
	case claims.immediate > 0:
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonUnboundImmediat)
	}
	state.Write(bindingKey, &bindingState{claims: claims, byNode: map[string]*podVolumes{}})
	return nil
}

func readBinding(state *framework.CycleState) *bindingState {
	v, _ := state.Read(bindingKey)
	s, _ := v.(*bindingState)
	return s
}

// Filter checks the bound claims' volumes against the node and finds
// volumes or provisioning for the unbound ones.
func (pl *VolumeBinding) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	s := readBinding(state)
	if s == nil {
		return nil
	}
	pv, reasons, err := pl.findVolumes(s.claims, n.Node)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	s.mu.Lock()
	s.byNode[n.Name()] = pv
	s.mu.Unlock()
	return nil
}

// Reserve assumes the node's choices so other pods do not take them: the
// static volumes for their claims, and the claims to provision with the
// node selected, so a second pod of the same claim only fits that node.
func (pl *VolumeBinding) Reserve(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	s := readBinding(state)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pv, ok := s.byNode[node]
	if !ok {
		return framework.AsStatus(fmt.Errorf("no volume choices for node %q", node))
	}
	uid := pod.GetMetadata().GetUid()
	for name, c := range pv.static {
		pl.Store.AssumeVolume(name, ClaimKey(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName()), uid)
	}
	for _, c := range pv.provision {
		if c.GetMetadata().GetAnnotations()[AnnSelectedNode] == node {
			continue
		}
		pl.Store.AssumeClaim(withSelectedNode(c, node), uid)
	}
	s.chosen, s.node = pv, node
	return nil
}

func withSelectedNode(c *corev1.PersistentVolumeClaim, node string) *corev1.PersistentVolumeClaim {
	cp := proto.Clone(c).(*corev1.PersistentVolumeClaim)
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	cp.Metadata.Annotations[AnnSelectedNode] = node
	return cp
}

// Unreserve gives back what this pod assumed.
func (pl *VolumeBinding) Unreserve(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ string) {
	s := readBinding(state)
	if s == nil || s.chosen == nil {
		return
	}
	uid := pod.GetMetadata().GetUid()
	for name := range s.chosen.static {
		pl.Store.ForgetVolume(name, uid)
	}
	for _, c := range s.chosen.provision {
		pl.Store.ForgetClaim(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName(), uid)
	}
}
