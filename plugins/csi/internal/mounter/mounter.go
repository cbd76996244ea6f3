// Package mounter makes and removes the bind mounts the local CSI driver
// publishes volumes with, and tells whether a path is a mount point, by
// reading the kernel's mount table.
package mounter

import (
	"fmt"

	"golang.org/x/sys/unix"

	"skiff.dev/pkg/mountinfo"
)

// Mount describes one mount point of the table.
type Mount = mountinfo.Mount

// Table reads the mount table, in mount order (later lines are
// mounted on top of earlier ones at the same point).
var Table = mountinfo.Read

// Find returns the topmost mount at path, if path is a mount point.
func Find(path string) (Mount, bool, error) {
	table, err := Table()
	if err != nil {
		return Mount{}, false, err
	}
	m, ok := top(table, path)
	return m, ok, nil
}

// top is the last mount of the table at point.
func top(table []Mount, point string) (Mount, bool) {
	for i := len(table) - 1; i >= 0; i-- {
		if table[i].Point == point {
			return table[i], true
		}
	}
	return Mount{}, false
}

// Bind mounts source onto target (a directory), read-only when asked: a
// bind mount takes the read-only flag only in a remount.
func Bind(source, target string, readOnly bool) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", source, target, err)
	}
	if !readOnly {
		return nil
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		_ = unix.Unmount(target, 0)
		return fmt.Errorf("read-only remount of %s: %w", target, err)
	}
	return nil
}

// Unmount removes every mount stacked at target; none is no error.
func Unmount(target string) error {
	for {
		_, mounted, err := Find(target)
		if err != nil || !mounted {
			return err
		}
		if err := unix.Unmount(target, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
}
