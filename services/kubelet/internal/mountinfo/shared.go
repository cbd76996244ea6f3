package mountinfo

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
)

// MakeRShared makes path a recursively shared mount, as Kubernetes'
// kubelet does with its root directory at start, unless the mount path
// is on is shared already: path is bind-mounted on itself and made
// rshared. Mounts a CSI driver makes below it (from a container with
// Bidirectional propagation) then reach the kubelet, which checks them
// before removing a directory, and the containers that use them.
func MakeRShared(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	all, err := Read()
	if err != nil {
		return err
	}
	if shared, err := isShared(all, path); err != nil || shared {
		return err
	}
	if err := syscall.Mount(path, path, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s on itself: %w", path, err)
	}
	if err := syscall.Mount("", path, "", syscall.MS_SHARED|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("make %s rshared: %w", path, err)
	}
	return nil
}

// isShared reports whether the mount path is on (the last one mounted
// on path or a parent of it) is a shared mount.
func isShared(all []Mount, path string) (bool, error) {
	for i := len(all) - 1; i >= 0; i-- {
		mp := all[i].Point
		if mp == path || mp == "/" || strings.HasPrefix(path, mp+"/") {
			for _, opt := range all[i].Optional {
				if strings.HasPrefix(opt, "shared:") {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return false, fmt.Errorf("cannot find the mount point of %q", path)
}
