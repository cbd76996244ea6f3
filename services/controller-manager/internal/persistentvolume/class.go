package persistentvolume

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/volumeclass"
)

// delayBinding: the claim's class binds WaitForFirstConsumer. A class
// that does not exist binds at once, as in Kubernetes.
func (pc *Controller) delayBinding(cl *corev1.PersistentVolumeClaim) (bool, error) {
	name := claimClass(cl)
	if name == "" {
		return false, nil
	}
	sc, ok := pc.classes.Store().Get(name)
	if !ok {
		return false, nil
	}
	if sc.VolumeBindingMode == nil {
		return false, fmt.Errorf("VolumeBindingMode not set for StorageClass %q", name)
	}
	return sc.GetVolumeBindingMode() == "WaitForFirstConsumer", nil
}

// defaultClass is the class marked default (by the GA or the beta
// annotation), the newest when several are, as admission picks it.
func (pc *Controller) defaultClass() *storagev1.StorageClass {
	return volumeclass.DefaultClass(pc.classes.Store().List())
}

// assignDefaultClass gives a claim that names no class at all the default
// class, once one exists (Kubernetes' retroactive default class).
func (pc *Controller) assignDefaultClass(ctx context.Context, cl *corev1.PersistentVolumeClaim) (bool, error) {
	if hasClass(cl) {
		return false, nil
	}
	sc := pc.defaultClass()
	if sc == nil {
		return false, nil
	}
	cl = proto.Clone(cl).(*corev1.PersistentVolumeClaim)
	cl.Spec.StorageClassName = proto.String(sc.GetMetadata().GetName())
	if _, err := pc.claimsOf(cl.GetMetadata().GetNamespace()).Update(ctx, cl, client.WriteOptions{}); err != nil {
		return false, fmt.Errorf("can't update PersistentVolumeClaim[%q]: %w", cl.GetMetadata().GetNamespace()+"/"+cl.GetMetadata().GetName(), err)
	}
	return true, nil
}

// inTreePrefix starts the names of Kubernetes' in-tree volume plugins
// (kubernetes.io/no-provisioner, kubernetes.io/aws-ebs, ...).
const inTreePrefix = "kubernetes.io/"

// provision hands a claim to its class's external provisioner: both
// storage-provisioner annotations name it, and an event says the claim
// waits for it. A missing class, or a provisioner named as an in-tree
// plugin, is a ProvisioningFailed warning.
func (pc *Controller) provision(ctx context.Context, cl *corev1.PersistentVolumeClaim) error {
	name := claimClass(cl)
	sc, ok := pc.classes.Store().Get(name)
	if !ok {
		pc.event(cl, events.Warning, "ProvisioningFailed", fmt.Sprintf("storageclass.storage.k8s.io %q not found", name))
		return nil
	}
	provisioner := sc.GetProvisioner()
	if strings.HasPrefix(provisioner, inTreePrefix) {
		// An in-tree plugin's name: Skiff has none (nor CSI migration), so
		// as Kubernetes' findProvisionablePlugin for an unknown one.
		pc.event(cl, events.Warning, "ProvisioningFailed", "no volume plugin matched name: "+provisioner)
		return nil
	}
	a := cl.GetMetadata().GetAnnotations()
	if a[AnnStorageProvisioner] != provisioner || a[AnnBetaProvisioner] != provisioner {
		cl = proto.Clone(cl).(*corev1.PersistentVolumeClaim)
		setAnnotation(cl.GetMetadata(), AnnStorageProvisioner, provisioner)
		setAnnotation(cl.GetMetadata(), AnnBetaProvisioner, provisioner)
		out, err := pc.claimsOf(cl.GetMetadata().GetNamespace()).Update(ctx, cl, client.WriteOptions{})
		if err != nil {
			pc.event(cl, events.Warning, "ProvisioningFailed", fmt.Sprintf("Error saving claim: %v", err))
			return fmt.Errorf("annotate claim %s/%s for provisioner %s: %w", cl.GetMetadata().GetNamespace(), cl.GetMetadata().GetName(), provisioner, err)
		}
		cl = out
	}
	pc.event(cl, events.Normal, "ExternalProvisioning", fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' "+
		"or manually by the system administrator. If volume creation is delayed, please verify that "+
		"the provisioner is running and correctly registered.", provisioner))
	return nil
}
