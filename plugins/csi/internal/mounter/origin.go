package mounter

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Origin is where a path's files live: the filesystem (its device) and
// the directory inside it. Two paths with the same origin show the same
// files, whatever bind mounts lie between them, as Kubernetes'
// GetMountRefs compares mounts.
type Origin struct {
	Dev  string
	Root string
}

// deleted is what the kernel appends to a mount's root whose directory
// was removed while mounted.
const deleted = "//deleted"

// OriginOf returns the origin of path (which need not exist below its
// deepest mount point): the mount the path lies on, and the path's place
// below that mount's root. Symbolic links are resolved when path exists.
func OriginOf(path string) (Origin, error) {
	table, err := Table()
	if err != nil {
		return Origin{}, err
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	return originIn(table, path)
}

func originIn(table []Mount, path string) (Origin, error) {
	path = filepath.Clean(path)
	if !filepath.IsAbs(path) {
		return Origin{}, fmt.Errorf("origin of %s: not an absolute path", path)
	}
	for dir := path; ; dir = filepath.Dir(dir) {
		if m, ok := top(table, dir); ok {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return Origin{}, fmt.Errorf("origin of %s: %w", path, err)
			}
			return Origin{Dev: m.Dev, Root: filepath.Join(m.Root, rel)}, nil
		}
		if dir == "/" {
			return Origin{}, fmt.Errorf("origin of %s: no mount holds it", path)
		}
	}
}

// Shows reports whether the mount m shows the files of o: the same
// filesystem, mounted from o's directory.
func Shows(m Mount, o Origin) bool {
	return m.Dev == o.Dev && strings.TrimSuffix(m.Root, deleted) == o.Root
}

// ShowsWithin reports whether the mount m shows o's directory or one
// below it.
func ShowsWithin(m Mount, o Origin) bool {
	root := strings.TrimSuffix(m.Root, deleted)
	return m.Dev == o.Dev && (root == o.Root || strings.HasPrefix(root, strings.TrimSuffix(o.Root, "/")+"/"))
}

// MountsOf lists the mounts of the table that show dir's files or those
// of a directory below it, other than dir's own mount: the places dir is
// still in use after bind mounts of it.
func MountsOf(dir string) ([]Mount, error) {
	table, err := Table()
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("mounts of %s: %w", dir, err)
	}
	o, err := originIn(table, resolved)
	if err != nil {
		return nil, err
	}
	var refs []Mount
	for _, m := range table {
		if m.Point != resolved && ShowsWithin(m, o) {
			refs = append(refs, m)
		}
	}
	return refs, nil
}
