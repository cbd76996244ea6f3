package persistentvolume

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

func (pc *Controller) claimsOf(ns string) *client.Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList] {
	return pc.c.CoreV1().PersistentVolumeClaims(ns)
}

func (pc *Controller) pvs() *client.Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList] {
	return pc.c.CoreV1().PersistentVolumes()
}

// bind makes the volume and the claim point at each other and both Bound,
// in Kubernetes' order: the volume's claimRef, its phase, the claim's
// volumeName and annotations, its status. Each step writes only when
// something changes, so a bind that stopped half way is finished by the
// next sync.
func (pc *Controller) bind(ctx context.Context, v *corev1.PersistentVolume, cl *corev1.PersistentVolumeClaim) error {
	v, err := pc.bindVolume(ctx, v, cl)
	if err != nil {
		return err
	}
	if v, err = pc.setVolumePhase(ctx, v, "Bound", ""); err != nil {
		return err
	}
	if cl, err = pc.bindClaim(ctx, cl, v); err != nil {
		return err
	}
	return pc.setClaimPhase(ctx, cl, "Bound", v)
}

func (pc *Controller) bindVolume(ctx context.Context, v *corev1.PersistentVolume, cl *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	m := cl.GetMetadata()
	r := v.GetSpec().GetClaimRef()
	if r.GetName() == m.GetName() && r.GetNamespace() == m.GetNamespace() && r.GetUid() == m.GetUid() {
		return v, nil
	}
	byController := !toVolume(v).boundTo(toClaim(cl))
	v = proto.Clone(v).(*corev1.PersistentVolume)
	v.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", ApiVersion: "v1", Namespace: m.GetNamespace(),
		Name: m.GetName(), Uid: m.GetUid(), ResourceVersion: m.GetResourceVersion()}
	if byController {
		setAnnotation(v.GetMetadata(), AnnBoundByController, "yes")
	}
	out, err := pc.pvs().Update(ctx, v, client.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind volume %s to claim %s/%s: %w", v.GetMetadata().GetName(), m.GetNamespace(), m.GetName(), err)
	}
	return out, nil
}

func (pc *Controller) bindClaim(ctx context.Context, cl *corev1.PersistentVolumeClaim, v *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	name := v.GetMetadata().GetName()
	_, completed := cl.GetMetadata().GetAnnotations()[AnnBindCompleted]
	if cl.GetSpec().GetVolumeName() == name && completed {
		return cl, nil
	}
	cl = proto.Clone(cl).(*corev1.PersistentVolumeClaim)
	if cl.GetSpec().GetVolumeName() != name {
		cl.Spec.VolumeName = name
		if _, ok := cl.GetMetadata().GetAnnotations()[AnnBoundByController]; !ok {
			setAnnotation(cl.GetMetadata(), AnnBoundByController, "yes")
		}
	}
	setAnnotation(cl.GetMetadata(), AnnBindCompleted, "yes")
	out, err := pc.claimsOf(cl.GetMetadata().GetNamespace()).Update(ctx, cl, client.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind claim %s/%s to volume %s: %w", cl.GetMetadata().GetNamespace(), cl.GetMetadata().GetName(), name, err)
	}
	return out, nil
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

// setClaimPhase writes the claim's phase, and with a volume its access
// modes and capacity (without, they are cleared).
func (pc *Controller) setClaimPhase(ctx context.Context, cl *corev1.PersistentVolumeClaim, phase string, v *corev1.PersistentVolume) error {
	st := cl.GetStatus()
	modes, capacity := claimStatusFrom(st, phase, v)
	if st.GetPhase() == phase && slices.Equal(st.GetAccessModes(), modes) && sameQuantities(st.GetCapacity(), capacity) {
		return nil
	}
	cl = proto.Clone(cl).(*corev1.PersistentVolumeClaim)
	if cl.Status == nil {
		cl.Status = &corev1.PersistentVolumeClaimStatus{}
	}
	cl.Status.Phase, cl.Status.AccessModes, cl.Status.Capacity = phase, modes, capacity
	_, err := pc.claimsOf(cl.GetMetadata().GetNamespace()).UpdateStatus(ctx, cl, client.WriteOptions{})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("set claim %s/%s %s: %w", cl.GetMetadata().GetNamespace(), cl.GetMetadata().GetName(), phase, err)
	}
	return nil
}

func sameQuantities(a, b map[string]*metav1.Quantity) bool {
	return maps.EqualFunc(a, b, func(x, y *metav1.Quantity) bool { return bytesOf(x) == bytesOf(y) })
}

// setVolumePhase writes the volume's phase and message; a new phase gets
// a new lastPhaseTransitionTime.
func (pc *Controller) setVolumePhase(ctx context.Context, v *corev1.PersistentVolume, phase, msg string) (*corev1.PersistentVolume, error) {
	if v.GetStatus().GetPhase() == phase && v.GetStatus().GetMessage() == msg {
		return v, nil
	}
	v = proto.Clone(v).(*corev1.PersistentVolume)
	if v.Status == nil {
		v.Status = &corev1.PersistentVolumeStatus{}
	}
	if v.Status.Phase != phase {
		v.Status.LastPhaseTransitionTime = timestamppb.Now()
	}
	v.Status.Phase, v.Status.Message = phase, msg
	out, err := pc.pvs().UpdateStatus(ctx, v, client.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("set volume %s %s: %w", v.GetMetadata().GetName(), phase, err)
	}
	return out, nil
}

// claimStatusFrom is the access modes and capacity a claim's status
// shows in phase, from its volume v (none without one). The capacity is
// the volume's only when the claim is becoming phase, as in Kubernetes:
// later, a difference is intentional (a resizer writes the claim's
// capacity once the file system grew), so it is not clobbered.
func claimStatusFrom(st *corev1.PersistentVolumeClaimStatus, phase string, v *corev1.PersistentVolume) ([]string, map[string]*metav1.Quantity) {
	if v == nil {
		return nil, nil
	}
	modes := v.GetSpec().GetAccessModes()
	if st.GetPhase() == phase {
		return modes, st.GetCapacity()
	}
	q, ok := v.GetSpec().GetCapacity()["storage"]
	if !ok {
		return modes, st.GetCapacity()
	}
	capacity := maps.Clone(st.GetCapacity())
	if capacity == nil {
		capacity = map[string]*metav1.Quantity{}
	}
	capacity["storage"] = q
	return modes, capacity
}
