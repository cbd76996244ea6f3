package volumes

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	read := func(name string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return string(data)
	}
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("1"), mode: 0o644}, "sub/b": {data: []byte("2"), mode: 0o600}}, noGroup); err != nil {
		t.Fatal(err)
	}
	if read("a") != "1" || read("sub/b") != "2" {
		t.Fatalf("files: a=%q sub/b=%q", read("a"), read("sub/b"))
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub/b")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sub/b mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	gen, _ := os.Readlink(filepath.Join(dir, dataLink))

	// Same contents: nothing is rewritten.
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("1"), mode: 0o644}, "sub/b": {data: []byte("2"), mode: 0o600}}, noGroup); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, dataLink)); again != gen {
		t.Errorf("unchanged contents made a new generation %s (was %s)", again, gen)
	}

	// An update swaps the generation; a removed key disappears; the old
	// generation is removed.
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("one"), mode: 0o644}}, noGroup); err != nil {
		t.Fatal(err)
	}
	if read("a") != "one" {
		t.Errorf("a = %q after the update, want one", read("a"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("removed key's entry still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, gen)); !os.IsNotExist(err) {
		t.Errorf("old generation %s still there: %v", gen, err)
	}
	if err := writeAtomic(dir, map[string]file{"../escape": {data: []byte("x"), mode: 0o644}}, noGroup); err == nil {
		t.Errorf("a path climbing out of the volume was accepted")
	}
}

// TestWriteAtomicFSGroup: a pod's fsGroup owns its generated volume's
// files, which it may read, and its directories, which are setgid; an
// unchanged volume is not rewritten.
func TestWriteAtomicFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	const group = 4321
	dir := filepath.Join(t.TempDir(), "vol")
	files := map[string]file{"a": {data: []byte("1"), mode: 0o600}, "sub/b": {data: []byte("2"), mode: 0o400}}
	if err := writeAtomic(dir, files, group); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		mode os.FileMode
	}{{"a", 0o640}, {"sub/b", 0o440}, {"sub", os.ModeDir | os.ModeSetgid | 0o755}, {".", os.ModeDir | os.ModeSetgid | 0o755}} {
		fi, err := os.Stat(filepath.Join(dir, tt.path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tt.mode || !ownedBy(fi, group) {
			t.Errorf("%s: mode %v, group %d; want %v, group %d", tt.path, fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, tt.mode, group)
		}
	}
	gen, _ := os.Readlink(filepath.Join(dir, dataLink))
	if err := writeAtomic(dir, files, group); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, dataLink)); again != gen {
		t.Errorf("unchanged contents made a new generation %s (was %s)", again, gen)
	}
}
