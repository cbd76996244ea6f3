package volumes

import (
	"context"
	"fmt"
	"maps"
	"os"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csiname"
	"skiff.dev/services/kubelet/internal/csi"
)

// Storage reads the objects behind a persistentVolumeClaim volume.
type Storage interface {
	Claim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error)
	Volume(ctx context.Context, name string) (*corev1.PersistentVolume, error)
	// Driver returns the CSIDriver object; NotFound when there is none.
	Driver(ctx context.Context, name string) (*storagev1.CSIDriver, error)
	Attachment(ctx context.Context, name string) (*storagev1.VolumeAttachment, error)
}

// Pod information a driver with podInfoOnMount gets in volume_context.
const (
	podNameKey        = "csi.storage.k8s.io/pod.name"
	podNamespaceKey   = "csi.storage.k8s.io/pod.namespace"
	podUIDKey         = "csi.storage.k8s.io/pod.uid"
	serviceAccountKey = "csi.storage.k8s.io/serviceAccount.name"
	ephemeralKey      = "csi.storage.k8s.io/ephemeral"
)

// setUpClaim makes a persistentVolumeClaim volume ready and remembers the
// host path its containers mount: the claim must be bound; a hostPath or
// local PV is used in place, a CSI PV is staged and published by its
// driver (after its VolumeAttachment is attached, when the driver needs
// one).
func (m *Manager) setUpClaim(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) error {
	key := pod.GetMetadata().GetUid() + "/" + v.GetName()
	if _, done := m.claimPath(key); done {
		return nil
	}
	if m.Storage == nil {
		return fmt.Errorf("persistentVolumeClaim volumes need the API")
	}
	pv, readOnly, err := m.boundVolume(ctx, pod, v.GetVolumeSource().GetPersistentVolumeClaim())
	if err != nil {
		return err
	}
	readOnly = readOnly || pv.GetSpec().GetPersistentVolumeSource().GetCsi().GetReadOnly()
	path, err := m.setUpPV(ctx, pod, pv, readOnly)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.claims == nil {
		m.claims = map[string]claimed{}
	}
	m.claims[key] = claimed{path: path, readOnly: readOnly}
	m.mu.Unlock()
	return nil
}

// boundVolume reads the claim and the PV it is bound to.
func (m *Manager) boundVolume(ctx context.Context, pod *corev1.Pod, src *corev1.PersistentVolumeClaimVolumeSource) (*corev1.PersistentVolume, bool, error) {
	ns, name := pod.GetMetadata().GetNamespace(), src.GetClaimName()
	claim, err := m.Storage.Claim(ctx, ns, name)
	if client.IsNotFound(err) {
		return nil, false, fmt.Errorf("persistentvolumeclaim %q not found", name)
	}
	if err != nil {
		return nil, false, fmt.Errorf("error processing PVC %s/%s: %w", ns, name, err)
	}
	if claim.GetMetadata().GetDeletionTimestamp() != nil {
		return nil, false, fmt.Errorf("can't start pod because PVC %s/%s is being deleted", ns, name)
	}
	if claim.GetStatus().GetPhase() != "Bound" || claim.GetSpec().GetVolumeName() == "" {
		return nil, false, fmt.Errorf("error processing PVC %s/%s: PVC is not bound", ns, name)
	}
	pv, err := m.Storage.Volume(ctx, claim.GetSpec().GetVolumeName())
	if err != nil {
		return nil, false, fmt.Errorf("error processing PVC %s/%s: failed to fetch PV %s from API server: %w", ns, name, claim.GetSpec().GetVolumeName(), err)
	}
	if ref := pv.GetSpec().GetClaimRef(); ref == nil {
		return nil, false, fmt.Errorf("error processing PVC %s/%s: found PV object %s but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim", ns, name, pv.GetMetadata().GetName())
	} else if ref.GetUid() != claim.GetMetadata().GetUid() {
		return nil, false, fmt.Errorf("error processing PVC %s/%s: found PV object %s but its pv.Spec.ClaimRef.UID %s does not point to claim.UID %s", ns, name, pv.GetMetadata().GetName(), ref.GetUid(), claim.GetMetadata().GetUid())
	}
	if mode := pv.GetSpec().GetVolumeMode(); mode == "Block" {
		return nil, false, fmt.Errorf("volume %s has volumeMode Block: raw block volumes are not supported by this kubelet", pv.GetMetadata().GetName())
	}
	return pv, src.GetReadOnly(), nil
}

// setUpPV makes the PV available on the node and returns its host path.
func (m *Manager) setUpPV(ctx context.Context, pod *corev1.Pod, pv *corev1.PersistentVolume, readOnly bool) (string, error) {
	src := pv.GetSpec().GetPersistentVolumeSource()
	switch {
	case src.GetHostPath() != nil:
		return src.GetHostPath().GetPath(), checkHostPath(src.GetHostPath())
	case src.GetLocal() != nil:
		p := src.GetLocal().GetPath()
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("local volume %s: %w", pv.GetMetadata().GetName(), err)
		}
		return p, nil
	case src.GetCsi() != nil:
		return m.setUpCSI(ctx, pod, pv, readOnly)
	}
	return "", fmt.Errorf("volume %s: its source is not supported by this kubelet (hostPath, local and csi are)", pv.GetMetadata().GetName())
}

// setUpCSI stages and publishes a CSI PV for the pod.
func (m *Manager) setUpCSI(ctx context.Context, pod *corev1.Pod, pv *corev1.PersistentVolume, readOnly bool) (string, error) {
	if m.CSI == nil {
		return "", fmt.Errorf("this kubelet has no CSI support")
	}
	src := pv.GetSpec().GetPersistentVolumeSource().GetCsi()
	attachRequired, podInfo, err := m.driverNeeds(ctx, src.GetDriver())
	if err != nil {
		return "", err
	}
	v := &csi.Volume{
		Driver: src.GetDriver(), Handle: src.GetVolumeHandle(), PVName: pv.GetMetadata().GetName(),
		ReadOnly: readOnly, FSType: src.GetFsType(), MountFlags: pv.GetSpec().GetMountOptions(),
		AccessModes: pv.GetSpec().GetAccessModes(), VolumeContext: maps.Clone(src.GetVolumeAttributes()),
		NodeName: m.NodeName,
	}
	if attachRequired {
		if v.PublishContext, v.AttachmentID, err = m.attached(ctx, v); err != nil {
			return "", err
		}
	}
	if podInfo {
		if v.VolumeContext == nil {
			v.VolumeContext = map[string]string{}
		}
		md := pod.GetMetadata()
		v.VolumeContext[podNameKey], v.VolumeContext[podNamespaceKey] = md.GetName(), md.GetNamespace()
		v.VolumeContext[podUIDKey], v.VolumeContext[serviceAccountKey] = md.GetUid(), pod.GetSpec().GetServiceAccountName()
		v.VolumeContext[ephemeralKey] = "false"
	}
	if v.StageSecrets, err = m.secretData(ctx, src.GetNodeStageSecretRef()); err != nil {
		return "", err
	}
	if v.PublishSecrets, err = m.secretData(ctx, src.GetNodePublishSecretRef()); err != nil {
		return "", err
	}
	return m.CSI.SetUp(ctx, v, pod.GetMetadata().GetUid())
}

// driverNeeds reads the CSIDriver: with none, attach is required and no
// pod information is passed, as Kubernetes does.
func (m *Manager) driverNeeds(ctx context.Context, name string) (attach, podInfo bool, err error) {
	d, err := m.Storage.Driver(ctx, name)
	if client.IsNotFound(err) {
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read CSIDriver %s: %w", name, err)
	}
	spec := d.GetSpec()
	return spec.AttachRequired == nil || spec.GetAttachRequired(), spec.GetPodInfoOnMount(), nil
}

// attached returns the attachment's metadata once the attach/detach
// controller's VolumeAttachment says the volume is attached to this node.
func (m *Manager) attached(ctx context.Context, v *csi.Volume) (map[string]string, string, error) {
	name := csiname.AttachmentName(v.Handle, v.Driver, m.NodeName)
	va, err := m.Storage.Attachment(ctx, name)
	if client.IsNotFound(err) {
		return nil, "", fmt.Errorf("volume %s is not attached yet: waiting for VolumeAttachment %s", v.PVName, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read VolumeAttachment %s: %w", name, err)
	}
	if e := va.GetStatus().GetAttachError(); e != nil {
		return nil, "", fmt.Errorf("volume %s attach failed: %s", v.PVName, e.GetMessage())
	}
	if !va.GetStatus().GetAttached() {
		return nil, "", fmt.Errorf("volume %s is not attached yet: VolumeAttachment %s is not attached", v.PVName, name)
	}
	return va.GetStatus().GetAttachmentMetadata(), name, nil
}

// secretData reads a Secret a CSI PV names for its node calls.
func (m *Manager) secretData(ctx context.Context, ref *corev1.SecretReference) (map[string]string, error) {
	if ref.GetName() == "" {
		return nil, nil
	}
	s, err := m.Objects.Secret(ctx, ref.GetNamespace(), ref.GetName())
	if err != nil {
		return nil, fmt.Errorf("fetching secret %s/%s: %w", ref.GetNamespace(), ref.GetName(), err)
	}
	out := map[string]string{}
	for k, b := range s.GetData() {
		out[k] = string(b)
	}
	return out, nil
}

func (m *Manager) claimPath(key string) (claimed, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.claims[key]
	return c, ok
}

// tearDownClaims unpublishes (and, for the last pod, unstages) the pod's
// CSI volumes and forgets its claims' paths.
func (m *Manager) tearDownClaims(ctx context.Context, uid string) error {
	for _, pv := range csi.Published(m.Root, uid) {
		if m.CSI == nil {
			return fmt.Errorf("volume %s: this kubelet has no CSI support to unpublish it", pv)
		}
		if err := m.CSI.TearDown(ctx, uid, pv); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.claims {
		if len(k) > len(uid) && k[:len(uid)+1] == uid+"/" {
			delete(m.claims, k)
		}
	}
	return nil
}
