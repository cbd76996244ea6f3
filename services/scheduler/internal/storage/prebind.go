package storage

import (
	"context"
	"errors"
	"fmt"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/nodematch"
	"skiff.dev/services/scheduler/internal/framework"
)

// PreBind writes Reserve's choices, volumes bound to claims and the
// chosen node on claims to provision, then waits until the PV controller
// has bound every claim of the pod, up to the bind timeout.
func (pl *VolumeBinding) PreBind(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	s := readBinding(state)
	if s == nil || s.chosen == nil || (len(s.chosen.static) == 0 && len(s.chosen.provision) == 0) {
		return nil
	}
	uid := pod.GetMetadata().GetUid()
	defer func() {
		for name := range s.chosen.static {
			pl.Store.ForgetVolume(name, uid)
		}
	}()
	for name, c := range s.chosen.static {
		if err := pl.API.BindVolume(ctx, s.chosen.volumes[name], c); err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
		}
	}
	for _, c := range s.chosen.provision {
		if c.GetMetadata().GetAnnotations()[AnnSelectedNode] == node {
			continue
		}
		written, err := pl.API.SelectNode(ctx, c, node)
		if err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
		}
		pl.Store.AssumeClaim(written, uid)
	}
	timeout := pl.BindTimeout
	if timeout <= 0 {
		timeout = DefaultBindTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := nodeOf(state, node)
	err := pl.Store.Wait(wctx, func() (bool, error) { return pl.allBound(pod, s.chosen, n) })
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("binding volumes: timed out waiting for the condition")
	}
	if err != nil {
		return framework.AsStatus(err)
	}
	return nil
}

// nodeOf is the node of the cycle's snapshot; a node missing there is
// one with only its name.
func nodeOf(state *framework.CycleState, name string) *corev1.Node {
	for _, n := range state.Nodes {
		if n.Name() == name {
			return n.Node
		}
	}
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}}
}

// allBound reports whether every claim of the pod is fully bound, as
// Kubernetes' checkBindings: the claim names its volume, carries
// pv.kubernetes.io/bind-completed and is Bound, the volume's claimRef
// names the claim by uid, and the volume's node affinity fits the node.
// A claim that lost its selected node (provisioning failed; the
// provisioner let go) or a volume that does not fit the node fails it.
func (pl *VolumeBinding) allBound(pod *corev1.Pod, chosen *podVolumes, n *corev1.Node) (bool, error) {
	node := n.GetMetadata().GetName()
	ns := pod.GetMetadata().GetNamespace()
	for _, c := range chosen.provision {
		cur, ok := pl.Store.Claim(ns, c.GetMetadata().GetName())
		if !ok {
			return false, fmt.Errorf("binding volumes: persistentvolumeclaim %q not found", c.GetMetadata().GetName())
		}
		if cur.GetSpec().GetVolumeName() == "" && cur.GetMetadata().GetAnnotations()[AnnSelectedNode] != node {
			return false, fmt.Errorf("binding volumes: selectedNode annotation reset for PVC %q", c.GetMetadata().GetName())
		}
	}
	for _, name := range claimNames(pod) {
		c, ok := pl.Store.Claim(ns, name)
		if !ok {
			return false, fmt.Errorf("binding volumes: persistentvolumeclaim %q not found", name)
		}
		if !claimBound(c) {
			return false, nil
		}
		v, ok := pl.Store.Volume(c.GetSpec().GetVolumeName())
		if !ok || v.ClaimRef == nil || v.ClaimRef.Namespace != ns || v.ClaimRef.Name != name || v.ClaimRef.UID != c.GetMetadata().GetUid() {
			return false, nil
		}
		if v.NodeAffinity != nil && !nodematch.Selector(v.NodeAffinity, n) {
			return false, fmt.Errorf("binding volumes: pv %q node affinity doesn't match node %q", v.Name, node)
		}
	}
	return true, nil
}

func claimBound(c *corev1.PersistentVolumeClaim) bool {
	_, done := c.GetMetadata().GetAnnotations()[AnnBindCompleted]
	return c.GetSpec().GetVolumeName() != "" && done && c.GetStatus().GetPhase() == "Bound"
}
