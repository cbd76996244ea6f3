// Package mountinfo reads the kubelet's mount table (/proc/self/mountinfo,
// parsed by skiff.dev/pkg/mountinfo) to tell whether anything is still mounted under a directory before it
// is removed, and makes the kubelet's root directory a shared mount.
package mountinfo

import (
	"fmt"

	"skiff.dev/pkg/mountinfo"
)

// Mount is one line of the mount table.
type Mount = mountinfo.Mount

// Read returns the mount table, in mount order.
var Read = mountinfo.Read

// Under lists the mounts on dir or below it, in mount order.
var Under = mountinfo.Under

// Unmounted fails when anything is mounted on dir or below it: the
// directory must not be removed then, or the volume's data would go
// with it.
func Unmounted(dir string) error {
	mounts, err := Under(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("%s is still mounted", mounts[0].Point)
	}
	return nil
}
