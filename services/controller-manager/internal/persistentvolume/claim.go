package persistentvolume

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/services/controller-manager/internal/informers"
)

// syncClaim is Kubernetes' syncClaim: a claim not yet bound is matched, a
// bound one is checked against its volume.
func (pc *Controller) syncClaim(ctx context.Context, cl *corev1.PersistentVolumeClaim) (time.Duration, error) {
	if _, done := cl.GetMetadata().GetAnnotations()[AnnBindCompleted]; done {
		return 0, pc.syncBoundClaim(ctx, cl)
	}
	if cl.GetSpec().GetVolumeName() != "" {
		return pc.syncRequestedVolume(ctx, cl)
	}
	return pc.syncUnboundClaim(ctx, cl)
}

// syncUnboundClaim binds a claim that names no volume to the best match,
// or hands it to provisioning, or waits.
func (pc *Controller) syncUnboundClaim(ctx context.Context, cl *corev1.PersistentVolumeClaim) (time.Duration, error) {
	delay, err := pc.delayBinding(cl)
	if err != nil {
		return 0, err
	}
	if v := pc.findBest(cl, delay); v != nil {
		return 0, pc.bind(ctx, v, cl)
	}
	if updated, err := pc.assignDefaultClass(ctx, cl); err != nil || updated {
		return 0, err
	}
	switch {
	case delay && cl.GetMetadata().GetAnnotations()[AnnSelectedNode] == "":
		pc.emitWaitForFirstConsumer(cl)
	case claimClass(cl) != "":
		if err := pc.provision(ctx, cl); err != nil {
			return 0, err
		}
	default:
		pc.event(cl, events.Normal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	}
	return resync, pc.setClaimPhase(ctx, cl, "Pending", nil)
}

func (pc *Controller) findBest(cl *corev1.PersistentVolumeClaim, delay bool) *corev1.PersistentVolume {
	all := pc.volumes.Store().List()
	vs := make([]*Volume, len(all))
	byName := make(map[string]*corev1.PersistentVolume, len(all))
	for i, v := range all {
		vs[i] = toVolume(v)
		byName[v.GetMetadata().GetName()] = v
	}
	if best := FindBest(toClaim(cl), vs, delay); best != nil {
		return byName[best.Name]
	}
	return nil
}

// emitWaitForFirstConsumer tells why a claim of a WaitForFirstConsumer
// class is not bound: no pod uses it yet, or its pods wait for a node.
func (pc *Controller) emitWaitForFirstConsumer(cl *corev1.PersistentVolumeClaim) {
	var waiting []string
	for _, p := range pc.pods.Store().ByIndex(informers.IndexPodClaim, cl.GetMetadata().GetNamespace()+"/"+cl.GetMetadata().GetName()) {
		phase := p.GetStatus().GetPhase()
		if p.GetSpec().GetNodeName() == "" && phase != "Succeeded" && phase != "Failed" {
			waiting = append(waiting, p.GetMetadata().GetName())
		}
	}
	sort.Strings(waiting)
	switch len(waiting) {
	case 0:
		pc.event(cl, events.Normal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
	case 1:
		pc.event(cl, events.Normal, "WaitForPodScheduled", fmt.Sprintf("waiting for pod %s to be scheduled", waiting[0]))
	default:
		pc.event(cl, events.Normal, "WaitForPodScheduled", fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(waiting, ",")))
	}
}

// syncRequestedVolume binds a claim to the volume its spec.volumeName
// names, when that volume is free or reserved for it.
func (pc *Controller) syncRequestedVolume(ctx context.Context, cl *corev1.PersistentVolumeClaim) (time.Duration, error) {
	v, ok := pc.volumes.Store().Get(cl.GetSpec().GetVolumeName())
	if !ok {
		return resync, pc.setClaimPhase(ctx, cl, "Pending", nil)
	}
	c := toClaim(cl)
	switch {
	case v.GetSpec().GetClaimRef() == nil:
		if err := Satisfies(toVolume(v), c); err != nil {
			pc.event(cl, events.Warning, "VolumeMismatch", fmt.Sprintf("Cannot bind to requested volume %q: %s", v.GetMetadata().GetName(), err))
			return resync, pc.setClaimPhase(ctx, cl, "Pending", nil)
		}
		return 0, pc.bind(ctx, v, cl)
	case toVolume(v).boundTo(c):
		return 0, pc.bind(ctx, v, cl)
	default:
		pc.event(cl, events.Warning, "FailedBinding", fmt.Sprintf("volume %q already bound to a different claim.", v.GetMetadata().GetName()))
		if _, byController := cl.GetMetadata().GetAnnotations()[AnnBoundByController]; byController {
			return 0, fmt.Errorf("invalid binding of claim %s/%s to volume %q: volume already claimed by %s/%s",
				cl.GetMetadata().GetNamespace(), cl.GetMetadata().GetName(), v.GetMetadata().GetName(),
				v.GetSpec().GetClaimRef().GetNamespace(), v.GetSpec().GetClaimRef().GetName())
		}
		return resync, pc.setClaimPhase(ctx, cl, "Pending", nil)
	}
}

// syncBoundClaim checks a claim that was bound: its volume must still be
// there and still point back at it, or the claim is Lost.
func (pc *Controller) syncBoundClaim(ctx context.Context, cl *corev1.PersistentVolumeClaim) error {
	name := cl.GetSpec().GetVolumeName()
	if name == "" {
		return pc.claimLost(ctx, cl, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
	}
	v, ok := pc.volumes.Store().Get(name)
	if !ok {
		return pc.claimLost(ctx, cl, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
	}
	if r := v.GetSpec().GetClaimRef(); r != nil && r.GetUid() != cl.GetMetadata().GetUid() {
		return pc.claimLost(ctx, cl, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
	}
	return pc.bind(ctx, v, cl)
}

func (pc *Controller) claimLost(ctx context.Context, cl *corev1.PersistentVolumeClaim, reason, msg string) error {
	if cl.GetStatus().GetPhase() == "Lost" {
		return nil
	}
	if err := pc.setClaimPhase(ctx, cl, "Lost", nil); err != nil {
		return err
	}
	pc.event(cl, events.Warning, reason, msg)
	return nil
}
