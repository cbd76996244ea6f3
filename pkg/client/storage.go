package client

import (
	"google.golang.org/grpc"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

// PersistentVolumes are the PersistentVolume objects (cluster-scoped).
func (g CoreV1) PersistentVolumes() *Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList] {
	return forConn[*corev1.PersistentVolume, *corev1.PersistentVolumeList](g.conn, "")
}

// PersistentVolumeClaims are the PersistentVolumeClaim objects in a
// namespace ("" lists and watches every namespace).
func (g CoreV1) PersistentVolumeClaims(namespace string) *Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList] {
	return forConn[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](g.conn, namespace)
}

// StorageV1 is the storage.k8s.io group.
func (c *Client) StorageV1() StorageV1 { return StorageV1{conn: c.conn} }

// StorageV1 is the storage.k8s.io/v1 API group.
type StorageV1 struct{ conn *grpc.ClientConn }

// StorageClasses are the StorageClass objects (cluster-scoped).
func (g StorageV1) StorageClasses() *Resource[*storagev1.StorageClass, *storagev1.StorageClassList] {
	return forConn[*storagev1.StorageClass, *storagev1.StorageClassList](g.conn, "")
}

// CSIDrivers are the CSIDriver objects (cluster-scoped).
func (g StorageV1) CSIDrivers() *Resource[*storagev1.CSIDriver, *storagev1.CSIDriverList] {
	return forConn[*storagev1.CSIDriver, *storagev1.CSIDriverList](g.conn, "")
}

// CSINodes are the CSINode objects (cluster-scoped).
func (g StorageV1) CSINodes() *Resource[*storagev1.CSINode, *storagev1.CSINodeList] {
	return forConn[*storagev1.CSINode, *storagev1.CSINodeList](g.conn, "")
}

// VolumeAttachments are the VolumeAttachment objects (cluster-scoped).
func (g StorageV1) VolumeAttachments() *Resource[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList] {
	return forConn[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList](g.conn, "")
}

// CSIStorageCapacities are the CSIStorageCapacity objects in a namespace
// ("" lists and watches every namespace).
func (g StorageV1) CSIStorageCapacities(namespace string) *Resource[*storagev1.CSIStorageCapacity, *storagev1.CSIStorageCapacityList] {
	return forConn[*storagev1.CSIStorageCapacity, *storagev1.CSIStorageCapacityList](g.conn, namespace)
}
