package volumes

import (
	"os"
	"path/filepath"
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
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("1"), mode: 0o644}, "sub/b": {data: []byte("2"), mode: 0o600}}); err != nil {
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
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("1"), mode: 0o644}, "sub/b": {data: []byte("2"), mode: 0o600}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, dataLink)); again != gen {
		t.Errorf("unchanged contents made a new generation %s (was %s)", again, gen)
	}

	// An update swaps the generation; a removed key disappears; the old
	// generation is removed.
	if err := writeAtomic(dir, map[string]file{"a": {data: []byte("one"), mode: 0o644}}); err != nil {
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
	if err := writeAtomic(dir, map[string]file{"../escape": {data: []byte("x"), mode: 0o644}}); err == nil {
		t.Errorf("a path climbing out of the volume was accepted")
	}
}
