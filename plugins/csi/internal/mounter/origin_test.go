package mounter

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOriginIn(t *testing.T) {
	table := []Mount{
		{Dev: "0:1", Root: "/", Point: "/"},
		{Dev: "8:1", Root: "/volumes/x/_data", Point: "/var/lib/skiff"},
		{Dev: "8:1", Root: "/volumes/x/_data/csi/pvc-1", Point: "/var/lib/skiff/pods/u/mount"},
		{Dev: "8:2", Root: "/", Point: "/var/lib/skiff"}, // mounted on top
	}
	for _, tc := range []struct {
		path string
		want Origin
	}{
		{"/etc/hosts", Origin{"0:1", "/etc/hosts"}},
		{"/var/lib/skiff/csi/pvc-1", Origin{"8:2", "/csi/pvc-1"}},
		{"/var/lib/skiff/pods/u/mount/sub/", Origin{"8:1", "/volumes/x/_data/csi/pvc-1/sub"}},
		{"/var/lib/skiff", Origin{"8:2", "/"}},
	} {
		got, err := originIn(table, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("originIn(%s) = %+v, %v; want %+v", tc.path, got, err, tc.want)
		}
	}
	if _, err := originIn(table, "relative"); err == nil {
		t.Error("a relative path has an origin")
	}
	o := Origin{"8:1", "/d/pvc-1"}
	for _, tc := range []struct {
		m             Mount
		shows, within bool
	}{
		{Mount{Dev: "8:1", Root: "/d/pvc-1"}, true, true},
		{Mount{Dev: "8:1", Root: "/d/pvc-1//deleted"}, true, true},
		{Mount{Dev: "8:1", Root: "/d/pvc-1/sub"}, false, true},
		{Mount{Dev: "8:1", Root: "/d/pvc-10"}, false, false},
		{Mount{Dev: "8:2", Root: "/d/pvc-1"}, false, false},
		{Mount{Dev: "8:1", Root: "/d"}, false, false},
	} {
		if Shows(tc.m, o) != tc.shows || ShowsWithin(tc.m, o) != tc.within {
			t.Errorf("%+v: Shows %t, ShowsWithin %t; want %t, %t", tc.m, Shows(tc.m, o), ShowsWithin(tc.m, o), tc.shows, tc.within)
		}
	}
}

// TestMountsOf: bind mounts of a directory, or of one below it, are found
// wherever they are; a bind of a neighbour is not.
func TestMountsOf(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	dir := t.TempDir()
	mk := func(p string) string {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vol, sub, other := mk("data/pvc-1"), mk("data/pvc-1/sub"), mk("data/pvc-10")
	refs := func() int {
		t.Helper()
		m, err := MountsOf(vol)
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	if n := refs(); n != 0 {
		t.Fatalf("%d mounts of an unmounted directory", n)
	}
	for _, b := range []struct{ src, dst string }{{vol, mk("t1")}, {sub, mk("t2")}, {other, mk("t3")}} {
		if err := Bind(b.src, b.dst, false); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(b.dst, 0) })
	}
	if n := refs(); n != 2 {
		t.Fatalf("%d mounts of the directory, want 2 (itself and its subdirectory)", n)
	}
	if err := Unmount(filepath.Join(dir, "t1")); err != nil {
		t.Fatal(err)
	}
	if n := refs(); n != 1 {
		t.Fatalf("%d mounts after one unmount, want 1", n)
	}
}
