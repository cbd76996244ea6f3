package volumes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataLink is the symlink to the current generation of a volume's files;
// each visible top-level entry is a symlink through it, so one rename
// swaps all files at once (Kubernetes' layout, which applications that
// watch ConfigMap volumes expect).
const dataLink = "..data"

// writeAtomic makes dir hold exactly files, owned by group (the pod's
// fsGroup) unless it is noGroup. Nothing is written when the contents are
// already current.
func writeAtomic(dir string, files map[string]file, group int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files = groupReadable(files, group)
	if current(dir, files, group) {
		return nil
	}
	gen := filepath.Join(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.000000000"))
	for rel, f := range files {
		if !validPath(rel) {
			return fmt.Errorf("invalid file path %q", rel)
		}
		p := filepath.Join(gen, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return err
	}
	if err := chownTree(dir, group); err != nil {
		return err
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(gen), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return err
	}
	if err := linkTopLevel(dir, files); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// linkTopLevel points each top-level entry through ..data and removes
// entries no longer present.
func linkTopLevel(dir string, files map[string]file) error {
	want := map[string]bool{}
	for rel := range files {
		want[strings.SplitN(rel, "/", 2)[0]] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !want[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for name := range want {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataLink, name) {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(filepath.Join(dataLink, name), link); err != nil {
			return err
		}
	}
	return nil
}

// current reports whether the current generation holds exactly files,
// owned by group.
func current(dir string, files map[string]file, group int) bool {
	gen := filepath.Join(dir, dataLink)
	n := 0
	err := filepath.WalkDir(gen+"/", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(gen, p)
		f, ok := files[rel]
		if !ok {
			return fmt.Errorf("extra")
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, f.data) {
			return fmt.Errorf("changed")
		}
		if info, err := d.Info(); err != nil || info.Mode().Perm() != f.mode.Perm() || !ownedBy(info, group) {
			return fmt.Errorf("mode")
		}
		return nil
	})
	return err == nil && n == len(files)
}

// validPath refuses absolute paths and paths that climb out.
func validPath(rel string) bool {
	if rel == "" || filepath.IsAbs(rel) || strings.HasPrefix(rel, "..") {
		return false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}
