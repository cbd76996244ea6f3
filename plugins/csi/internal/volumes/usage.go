package volumes

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Usage is what a volume's directory holds, and what its filesystem has.
type Usage struct {
	UsedBytes       int64
	UsedInodes      int64
	FreeInodes      int64
	TotalInodes     int64
	FilesystemBytes int64
}

// DirUsage walks dir and adds up the space its files take (blocks, as du
// counts them) and the inodes, with the filesystem's inode counts.
func DirUsage(dir string) (Usage, error) {
	var u Usage
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		u.UsedBytes += st.Blocks * 512
		u.UsedInodes++
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %s: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	u.TotalInodes, u.FreeInodes = int64(st.Files), int64(st.Ffree)
	u.FilesystemBytes = int64(st.Blocks) * st.Bsize
	return u, nil
}
