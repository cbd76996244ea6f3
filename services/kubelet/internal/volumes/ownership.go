package volumes

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "skiff.dev/api/core/v1"
)

// noGroup means a pod without fsGroup: volumes keep the kubelet's
// ownership.
const noGroup = -1

// Kubernetes' masks for volumes of a pod with an fsGroup: the group may
// read the files of read-only volumes (configMap, secret, downwardAPI,
// projected); directories are searchable and setgid, so files made in
// them belong to the group too.
const (
	readMask = 0o440
	dirMask  = os.ModeSetgid | 0o550
)

// fsGroup is the group that owns the pod's volumes, or noGroup.
func fsGroup(pod *corev1.Pod) int {
	if sc := pod.GetSpec().GetSecurityContext(); sc != nil && sc.FsGroup != nil {
		return int(sc.GetFsGroup())
	}
	return noGroup
}

// groupReadable adds the group read bits to the files' modes when the
// pod has an fsGroup.
func groupReadable(files map[string]file, group int) map[string]file {
	if group == noGroup {
		return files
	}
	out := make(map[string]file, len(files))
	for k, f := range files {
		f.mode |= readMask
		out[k] = f
	}
	return out
}

// chownTree gives dir and everything under it (not following symlinks) to
// group, directories setgid and searchable by it, as Kubernetes'
// SetVolumeOwnership does.
func chownTree(dir string, group int) error {
	if group == noGroup {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, group); err != nil {
			return err
		}
		if !d.IsDir() {
			return nil // files got their mode when written; symlinks have none
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, info.Mode()&os.ModePerm|dirMask)
	})
}

// ownedBy reports whether a file belongs to group (always true for
// noGroup).
func ownedBy(info fs.FileInfo, group int) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return group == noGroup || ok && int(st.Gid) == group
}
