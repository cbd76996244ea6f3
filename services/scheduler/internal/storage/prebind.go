package storage

import (
	"context"
	"errors"
	"fmt"

	corev1 "skiff.dev/api/core/v1"
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
	err := pl.Store.Wait(wctx, func() (bool, error) { return pl.allBound(pod, s.chosen, node) })
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("binding volumes: timed out waiting for the condition")
	}
	if err != nil {
		return framework.AsStatus(err)
	}
	return nil
}

// allBound reports whether every claim of the pod is fully bound: the
// claim names its volume, carries pv.kubernetes.io/bind-completed and is
// Bound, and the volume's claimRef names the claim. A claim that lost its
// selected node (provisioning failed; the provisioner let go) fails it.
func (pl *VolumeBinding) allBound(pod *corev1.Pod, chosen *podVolumes, node string) (bool, error) {
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
		if !ok || v.ClaimRef == nil || v.ClaimRef.Namespace != ns || v.ClaimRef.Name != name {
			return false, nil
		}
	}
	return true, nil
}

func claimBound(c *corev1.PersistentVolumeClaim) bool {
	_, done := c.GetMetadata().GetAnnotations()[AnnBindCompleted]
	return c.GetSpec().GetVolumeName() != "" && done && c.GetStatus().GetPhase() == "Bound"
}
