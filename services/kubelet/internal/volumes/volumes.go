// Package volumes sets up a pod's volumes on the node: emptyDir
// directories (tmpfs for medium Memory), hostPath checks, the files of
// configMap, secret, downwardAPI and projected volumes, written atomically
// so a container never sees half an update, and persistentVolumeClaim
// volumes (hostPath and local PVs in place, CSI PVs through their driver).
package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/kubelet/internal/csi"
	"skiff.dev/services/kubelet/internal/downward"
	"skiff.dev/services/kubelet/internal/mountinfo"
)

// Objects reads the ConfigMaps and Secrets volumes refer to.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// Tokens issues service-account tokens for projected volumes.
type Tokens interface {
	Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error)
}

// Manager sets up volumes under <root>/pods/<uid>/volumes.
type Manager struct {
	Root    string
	Objects Objects
	// Tokens may be nil: pods with service-account token projections then
	// fail to start with a clear message.
	Tokens Tokens
	// NodeIP is status.hostIP for downward API files.
	NodeIP string
	// Allocatable is the node's allocatable resources, the value of
	// resourceFieldRef limits a container does not set.
	Allocatable downward.Allocatable
	// Storage reads claims, PVs, CSIDrivers and VolumeAttachments; nil
	// refuses persistentVolumeClaim volumes.
	Storage Storage
	// CSI is the node's registered CSI drivers; nil refuses CSI PVs.
	CSI *csi.Drivers
	// NodeName names VolumeAttachments.
	NodeName string

	mu     sync.Mutex
	claims map[string]claimed // by "<pod uid>/<volume>"
}

// claimed is where a persistentVolumeClaim volume was set up, and whether
// containers must mount it read-only (the pod's claim or the PV says so).
type claimed struct {
	path     string
	readOnly bool
}

// Dir is where a pod volume lives on the node, unless it is a hostPath.
func (m *Manager) Dir(uid, name string) string {
	return filepath.Join(m.Root, "pods", uid, "volumes", name)
}

// Path returns the host path a volume is mounted from, and whether the
// volume itself is read-only (a claim with readOnly, a read-only CSI PV):
// its containers then mount it read-only whatever their volumeMount says,
// as Kubernetes does.
func (m *Manager) Path(pod *corev1.Pod, name string) (path string, readOnly, ok bool) {
	for _, v := range pod.GetSpec().GetVolumes() {
		if v.GetName() != name {
			continue
		}
		if hp := v.GetVolumeSource().GetHostPath(); hp != nil {
			return hp.GetPath(), false, true
		}
		if v.GetVolumeSource().GetPersistentVolumeClaim() != nil {
			c, ok := m.claimPath(pod.GetMetadata().GetUid() + "/" + name)
			return c.path, c.readOnly, ok
		}
		return m.Dir(pod.GetMetadata().GetUid(), name), false, true
	}
	return "", false, false
}

// SetUp makes every volume of the pod ready, refreshing the contents of
// configMap, secret, downwardAPI and projected volumes. podIP is for the
// downward API.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod, podIP string) error {
	var errs []error
	for _, v := range pod.GetSpec().GetVolumes() {
		if err := m.setUp(ctx, pod, v, podIP); err != nil {
			errs = append(errs, &Error{Volume: v.GetName(), Err: err})
		}
	}
	return errors.Join(errs...)
}

// Error is why one volume could not be set up; SetUp joins one per
// volume that failed.
type Error struct {
	Volume string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("volume %q: %v", e.Volume, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, podIP string) error {
	src := v.GetVolumeSource()
	dir := m.Dir(pod.GetMetadata().GetUid(), v.GetName())
	switch {
	case src.GetHostPath() != nil:
		return checkHostPath(src.GetHostPath())
	case src.GetEmptyDir() != nil:
		return emptyDir(dir, src.GetEmptyDir(), fsGroup(pod))
	case src.GetPersistentVolumeClaim() != nil:
		return m.setUpClaim(ctx, pod, v)
	}
	files, err := m.files(ctx, pod, src, podIP)
	if err != nil {
		return err
	}
	if files == nil {
		return fmt.Errorf("unsupported volume source")
	}
	return writeAtomic(dir, files, fsGroup(pod))
}

// emptyDir makes the volume's directory, on tmpfs for medium Memory,
// world-writable and, for a pod with an fsGroup, owned by that group and
// setgid.
func emptyDir(dir string, src *corev1.EmptyDirVolumeSource, group int) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if src.GetMedium() == "Memory" {
		if err := mountTmpfs(dir, src); err != nil {
			return err
		}
	}
	mode := os.FileMode(0o777)
	if group != noGroup {
		if err := os.Lchown(dir, -1, group); err != nil {
			return fmt.Errorf("give %s to fsGroup %d: %w", dir, group, err)
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(dir, mode)
}

// mountTmpfs mounts a tmpfs on dir unless one is there, as large as the
// volume's sizeLimit (in bytes: tmpfs refuses binary suffixes like 16Mi).
func mountTmpfs(dir string, src *corev1.EmptyDirVolumeSource) error {
	if mounted, err := isMountPoint(dir); err != nil || mounted {
		return err
	}
	opts, err := tmpfsOptions(src)
	if err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// tmpfsOptions are the mount options of a memory-backed emptyDir.
func tmpfsOptions(src *corev1.EmptyDirVolumeSource) (string, error) {
	limit := src.GetSizeLimit().GetString_()
	if limit == "" {
		return "", nil
	}
	q, err := resource.ParseQuantity(limit)
	if err != nil {
		return "", fmt.Errorf("emptyDir sizeLimit %q: %w", limit, err)
	}
	if q.Sign() <= 0 {
		// Zero is no limit (the node's default, half its memory), as
		// Kubernetes' kubelet has it.
		return "", nil
	}
	return "size=" + strconv.FormatInt(q.Value(), 10), nil
}

// checkHostPath checks a hostPath against its type, creating it for the
// OrCreate types.
func checkHostPath(hp *corev1.HostPathVolumeSource) error {
	path := hp.GetPath()
	fi, err := os.Stat(path)
	switch hp.GetType() {
	case "", "Unset":
		return nil
	case "DirectoryOrCreate":
		if os.IsNotExist(err) {
			return os.MkdirAll(path, 0o755)
		}
		if err == nil && !fi.IsDir() {
			return fmt.Errorf("hostPath %s exists and is not a directory", path)
		}
		return err
	case "FileOrCreate":
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if err == nil && fi.IsDir() {
			return fmt.Errorf("hostPath %s exists and is a directory, not a file", path)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, hp.GetType())
	}
	ok := map[string]bool{
		"Directory":   fi.IsDir(),
		"File":        fi.Mode().IsRegular(),
		"Socket":      fi.Mode()&os.ModeSocket != 0,
		"CharDevice":  fi.Mode()&os.ModeCharDevice != 0,
		"BlockDevice": fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0,
	}[hp.GetType()]
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, hp.GetType())
	}
	return nil
}

// TearDown removes the pod's volume directories (never a hostPath),
// unpublishing its CSI volumes and unmounting memory-backed ones first.
// A CSI volume that fails to unpublish keeps every directory, for a retry.
func (m *Manager) TearDown(ctx context.Context, uid string) error {
	if err := m.tearDownClaims(ctx, uid); err != nil {
		return err
	}
	if f, ok := m.Tokens.(interface{ Forget(podUID string) }); ok {
		f.Forget(uid) // the pod's tokens are no longer needed
	}
	dir := filepath.Join(m.Root, "pods", uid, "volumes")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	mounts, err := mountinfo.Under(dir)
	if err != nil {
		return err
	}
	for _, mnt := range mounts {
		// The kubelet's own mounts: memory-backed emptyDirs.
		if filepath.Dir(mnt.Point) == dir && mnt.FSType == "tmpfs" {
			if err := syscall.Unmount(mnt.Point, syscall.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", mnt.Point, err)
			}
		}
	}
	// Anything else still mounted (a volume its driver did not unmount)
	// keeps the directory: removing it would remove the volume's data.
	if err := mountinfo.Unmounted(dir); err != nil {
		return fmt.Errorf("tear down the pod's volumes: %w", err)
	}
	return os.RemoveAll(dir)
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// notFound reports a missing object as Kubernetes does, or nothing when
// the reference is optional.
func notFound(err error, optional bool, kind, name string) error {
	if client.IsNotFound(err) {
		if optional {
			return nil
		}
		return fmt.Errorf("%s %q not found", kind, name)
	}
	return err
}
