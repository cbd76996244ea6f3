package defaults

import (
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
)

// StatefulSet: OrderedReady pod management, RollingUpdate from partition
// 0, claims retained when the set is deleted or scaled down, one replica,
// ten revisions kept, and the defaults of the pod template and of each
// volume claim template. maxUnavailable is not defaulted: Kubernetes 1.34
// defaults it only behind its alpha MaxUnavailableStatefulSet gate.
func StatefulSet(s *appsv1.StatefulSet) {
	if s.Spec == nil {
		s.Spec = &appsv1.StatefulSetSpec{}
	}
	sp := s.Spec
	if sp.PodManagementPolicy == "" {
		sp.PodManagementPolicy = "OrderedReady"
	}
	if sp.UpdateStrategy == nil {
		sp.UpdateStrategy = &appsv1.StatefulSetUpdateStrategy{}
	}
	if sp.UpdateStrategy.Type == "" {
		sp.UpdateStrategy.Type = "RollingUpdate"
		if sp.UpdateStrategy.RollingUpdate == nil {
			sp.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := sp.UpdateStrategy.RollingUpdate; sp.UpdateStrategy.Type == "RollingUpdate" && ru != nil && ru.Partition == nil {
		ru.Partition = proto.Int32(0)
	}
	if sp.PersistentVolumeClaimRetentionPolicy == nil {
		sp.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := sp.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = "Retain"
	}
	if p := sp.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = "Retain"
	}
	if sp.Replicas == nil {
		sp.Replicas = proto.Int32(1)
	}
	if sp.RevisionHistoryLimit == nil {
		sp.RevisionHistoryLimit = proto.Int32(10)
	}
	template(&sp.Template)
	// Kubernetes shows each claim template with its apiVersion, kind and
	// the Pending phase of a new claim.
	for _, c := range sp.VolumeClaimTemplates {
		c.ApiVersion, c.Kind = "v1", "PersistentVolumeClaim"
		PersistentVolumeClaim(c)
	}
}

// PersistentVolumeClaim: a Filesystem volume mode, canonical quantities,
// and the Pending phase until a volume is bound.
func PersistentVolumeClaim(c *corev1.PersistentVolumeClaim) {
	claim(c)
	if c.Status == nil {
		c.Status = &corev1.PersistentVolumeClaimStatus{}
	}
	if c.Status.Phase == "" {
		c.Status.Phase = "Pending"
	}
	Canonical(c.Status.GetCapacity())
	Canonical(c.Status.GetAllocatedResources())
}

// claim defaults a claim's spec.
func claim(c *corev1.PersistentVolumeClaim) {
	if c.Spec == nil {
		c.Spec = &corev1.PersistentVolumeClaimSpec{}
	}
	if c.Spec.VolumeMode == nil {
		c.Spec.VolumeMode = proto.String("Filesystem")
	}
	Canonical(c.Spec.GetResources().GetRequests())
	Canonical(c.Spec.GetResources().GetLimits())
}
