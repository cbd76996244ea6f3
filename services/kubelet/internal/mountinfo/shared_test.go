package mountinfo

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// mountOf is the last mount on path itself, if any.
func mountOf(t *testing.T, path string) (Mount, int) {
	t.Helper()
	all, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	var last Mount
	n := 0
	for _, m := range all {
		if m.Point == path {
			last, n = m, n+1
		}
	}
	return last, n
}

func shared(m Mount) bool {
	return slices.ContainsFunc(m.Optional, func(o string) bool { return len(o) > 7 && o[:7] == "shared:" })
}

// A root directory on a private mount is bind-mounted on itself and made
// shared, once; one on a shared mount is left alone.
func TestMakeRShared(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts need root")
	}
	base := t.TempDir()
	// A private tmpfs to start from, whatever /tmp is.
	if err := syscall.Mount("tmpfs", base, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(base, syscall.MNT_DETACH) })
	if err := syscall.Mount("", base, "", syscall.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "kubelet")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(root, syscall.MNT_DETACH) })
	if err := MakeRShared(root); err != nil {
		t.Fatal(err)
	}
	m, n := mountOf(t, root)
	if n != 1 || !shared(m) {
		t.Fatalf("after MakeRShared: %d mounts on the root dir, last %+v; want one shared", n, m)
	}
	// Again (a kubelet restart): nothing more is mounted.
	if err := MakeRShared(root); err != nil {
		t.Fatal(err)
	}
	if _, n := mountOf(t, root); n != 1 {
		t.Errorf("a second MakeRShared stacked mounts: %d", n)
	}
	// A directory below a shared mount is shared already.
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := MakeRShared(sub); err != nil {
		t.Fatal(err)
	}
	if _, n := mountOf(t, sub); n != 0 {
		t.Errorf("a directory on a shared mount was bind-mounted")
	}
}
