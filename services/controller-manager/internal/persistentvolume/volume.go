package persistentvolume

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
)

// syncVolume is Kubernetes' syncVolume: an unclaimed or pre-bound volume
// is Available, a bound one Bound while its claim exists and points at
// it, Released (and reclaimed) once the claim is gone.
func (pc *Controller) syncVolume(ctx context.Context, v *corev1.PersistentVolume) (time.Duration, error) {
	r := v.GetSpec().GetClaimRef()
	if r == nil || r.GetUid() == "" {
		_, err := pc.setVolumePhase(ctx, v, "Available", "")
		return 0, err
	}
	cl, err := pc.claimOf(ctx, v)
	if err != nil {
		return 0, err
	}
	switch {
	case cl == nil:
		return pc.released(ctx, v)
	case cl.GetSpec().GetVolumeName() == "":
		if modeOf(cl.GetSpec().GetVolumeMode()) != modeOf(v.GetSpec().GetVolumeMode()) {
			pc.event(v, events.Warning, "VolumeMismatch", fmt.Sprintf("Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", cl.GetMetadata().GetName()))
			pc.event(cl, events.Warning, "VolumeMismatch", fmt.Sprintf("Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", v.GetMetadata().GetName()))
			return 0, nil
		}
		// The claim's sync finishes the binding.
		pc.Enqueue(claimPrefix + r.GetNamespace() + "/" + r.GetName())
		return 0, nil
	case cl.GetSpec().GetVolumeName() == v.GetMetadata().GetName():
		_, err := pc.setVolumePhase(ctx, v, "Bound", "")
		return 0, err
	case v.GetMetadata().GetAnnotations()[AnnProvisionedBy] != "" && v.GetSpec().GetPersistentVolumeReclaimPolicy() == "Delete":
		// Provisioned for this claim, which went elsewhere: not needed.
		return pc.released(ctx, v)
	default:
		return 0, pc.unbind(ctx, v)
	}
}

// claimOf is the claim the volume's claimRef names, with that uid: the
// cache first, then the apiserver, so a claim the cache has not seen yet
// does not release its volume. nil when it is gone.
func (pc *Controller) claimOf(ctx context.Context, v *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	r := v.GetSpec().GetClaimRef()
	cl, ok := pc.claims.Store().Get(r.GetNamespace() + "/" + r.GetName())
	phase := v.GetStatus().GetPhase()
	if ok && cl.GetMetadata().GetUid() == r.GetUid() {
		return cl, nil
	}
	if !ok && (phase == "Released" || phase == "Failed") {
		return nil, nil
	}
	fresh, err := pc.claimsOf(r.GetNamespace()).Get(ctx, r.GetName())
	switch {
	case client.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get claim %s/%s of volume %s: %w", r.GetNamespace(), r.GetName(), v.GetMetadata().GetName(), err)
	case fresh.GetMetadata().GetUid() != r.GetUid():
		return nil, nil
	}
	return fresh, nil
}

// released marks a volume whose claim is gone Released (a Failed one
// stays Failed) and carries out its reclaim policy.
func (pc *Controller) released(ctx context.Context, v *corev1.PersistentVolume) (time.Duration, error) {
	if p := v.GetStatus().GetPhase(); p != "Released" && p != "Failed" {
		var err error
		if v, err = pc.setVolumePhase(ctx, v, "Released", ""); err != nil {
			return 0, err
		}
	}
	switch policy := v.GetSpec().GetPersistentVolumeReclaimPolicy(); policy {
	case "Retain":
		return 0, nil
	case "Delete":
		return pc.deleteVolume(ctx, v)
	case "Recycle":
		_, err := pc.setVolumePhaseWithEvent(ctx, v, "Failed", events.Warning, "VolumeFailedRecycle", "No recycler plugin found for the volume!")
		return 0, err
	default:
		_, err := pc.setVolumePhaseWithEvent(ctx, v, "Failed", events.Warning, "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy")
		return 0, err
	}
}

// deleteVolume: a volume made by an external provisioner is the
// provisioner's to delete (Kubernetes' PV controller does nothing); no
// deleter exists in the controller-manager for any other, a static CSI
// volume included, which no provisioner takes either: it is Failed.
func (pc *Controller) deleteVolume(ctx context.Context, v *corev1.PersistentVolume) (time.Duration, error) {
	if externallyDeleted(v) {
		return 0, nil
	}
	msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", v.GetMetadata().GetName())
	_, err := pc.setVolumePhaseWithEvent(ctx, v, "Failed", events.Warning, "VolumeFailedDelete", msg)
	if err != nil {
		return 0, err
	}
	return resync, nil
}

func (pc *Controller) setVolumePhaseWithEvent(ctx context.Context, v *corev1.PersistentVolume, phase, typ, reason, msg string) (*corev1.PersistentVolume, error) {
	if v.GetStatus().GetPhase() == phase {
		return v, nil
	}
	out, err := pc.setVolumePhase(ctx, v, phase, msg)
	if err != nil {
		return nil, err
	}
	pc.event(out, typ, reason, msg)
	return out, nil
}

// unbind undoes a binding whose claim went to another volume: a binding
// the controller made goes entirely, a user's pre-binding keeps the
// claim's name and loses its uid.
func (pc *Controller) unbind(ctx context.Context, v *corev1.PersistentVolume) error {
	v = proto.Clone(v).(*corev1.PersistentVolume)
	m := v.GetMetadata()
	if _, ok := m.GetAnnotations()[AnnBoundByController]; ok {
		v.Spec.ClaimRef = nil
		delete(m.Annotations, AnnBoundByController)
	} else {
		v.Spec.ClaimRef.Uid = ""
	}
	out, err := pc.pvs().Update(ctx, v, client.WriteOptions{})
	if err != nil {
		return fmt.Errorf("unbind volume %s: %w", m.GetName(), err)
	}
	_, err = pc.setVolumePhase(ctx, out, "Available", "")
	return err
}

// externallyDeleted: the volume's pv.kubernetes.io/provisioned-by names
// an external provisioner (not an in-tree kubernetes.io/ plugin), which
// deletes it, as Kubernetes' findDeletablePlugin decides.
func externallyDeleted(v *corev1.PersistentVolume) bool {
	by := v.GetMetadata().GetAnnotations()[AnnProvisionedBy]
	return by != "" && !strings.HasPrefix(by, "kubernetes.io/")
}
