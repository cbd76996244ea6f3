package attachdetach

import (
	"slices"
	"sync"
	"time"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/csiname"
)

// MaxWaitForUnmount is how long a volume no pod needs stays attached while
// its node still reports it in use, as Kubernetes'
// maxWaitForUnmountDuration: after it the volume is detached anyway.
const MaxWaitForUnmount = 6 * time.Minute

// unmountWait remembers since when each VolumeAttachment has not been
// needed, to cap the wait for the kubelet's unmount.
type unmountWait struct {
	mu    sync.Mutex
	since map[string]time.Time // VolumeAttachment name
	now   func() time.Time
}

// needed forgets a VolumeAttachment a pod needs again.
func (w *unmountWait) needed(va string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.since, va)
}

// mayDetach reports whether a VolumeAttachment no pod needs may go: the
// node no longer reports the volume in use, or it has waited
// MaxWaitForUnmount. Else it says how long until the wait is over.
func (w *unmountWait) mayDetach(va string, inUse bool) (bool, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !inUse {
		delete(w.since, va)
		return true, 0
	}
	now := w.now()
	since, ok := w.since[va]
	if !ok {
		since = now
		w.since[va] = since
	}
	if left := since.Add(MaxWaitForUnmount).Sub(now); left > 0 {
		return false, left
	}
	delete(w.since, va)
	return true, 0
}

// inUse reports whether the node still reports the attachment's volume in
// status.volumesInUse (the kubelet has not unmounted it). A volume whose
// PersistentVolume is gone cannot be named and counts as unmounted.
func (ac *Controller) inUse(va *storagev1.VolumeAttachment, node *corev1.Node) bool {
	if node == nil {
		return false
	}
	pv, ok := ac.volumes.Store().Get(va.GetSpec().GetSource().GetPersistentVolumeName())
	csi := pv.GetSpec().GetPersistentVolumeSource().GetCsi()
	if !ok || csi == nil {
		return false
	}
	return slices.Contains(node.GetStatus().GetVolumesInUse(), csiname.UniqueVolumeName(csi.GetDriver(), csi.GetVolumeHandle()))
}
