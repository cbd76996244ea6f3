// Package csiname holds the names Kubernetes gives CSI volumes, which the
// kubelet and the attach/detach controller must spell byte for byte
// alike: the VolumeAttachment of a volume on a node, and the unique
// volume name of the Node's status.volumesInUse and volumesAttached.
package csiname

import (
	"crypto/sha256"
	"fmt"
)

// AttachmentName is the VolumeAttachment of a volume of a driver on a
// node, as Kubernetes' CSI attacher names it (getAttachmentName):
// csi-<hex sha256(handle+driver+node)>.
func AttachmentName(handle, driver, node string) string {
	return fmt.Sprintf("csi-%x", sha256.Sum256([]byte(handle+driver+node)))
}

// UniqueVolumeName is the name a CSI volume goes by in the Node's
// status.volumesInUse and volumesAttached:
// kubernetes.io/csi/<driver>^<handle>.
func UniqueVolumeName(driver, handle string) string {
	return "kubernetes.io/csi/" + driver + "^" + handle
}
