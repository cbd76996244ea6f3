package volumes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIDFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hashed bool
	}{
		{"pvc-0b7c3c2e-1d7f-4a5e-9c1e-3f2d1a0b9c8d", false},
		{"../../etc", true},
		{".hidden", true},
		{strings.Repeat("a", 200), true},
	} {
		id := IDFor(tc.name)
		if hashed := id != tc.name; hashed != tc.hashed || !ValidID(id) {
			t.Errorf("IDFor(%q) = %q", tc.name, id)
		}
	}
}

// TestStoreSurvivesReopen: the records are the state; a driver that
// restarts finds its volumes and their sizes.
func TestStoreSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.Create(Request{Name: "a", Bytes: 30, Parameters: map[string]string{"k": "v"}}); err != nil || !created {
		t.Fatalf("Create = %t, %v", created, err)
	}
	if _, _, err := s.Create(Request{Name: "b", Bytes: 80}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a volume beyond the capacity: %v", err)
	}
	s2, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	vols, err := s2.List()
	if err != nil || len(vols) != 1 || vols[0].CapacityBytes != 30 || vols[0].Parameters["k"] != "v" {
		t.Fatalf("after reopening: %+v, %v", vols, err)
	}
	if avail, err := s2.Available(); err != nil || avail != 70 {
		t.Fatalf("Available = %d, %v", avail, err)
	}
	if _, err := s2.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing volume: %v", err)
	}
}

// TestCreateIdempotent: a volume made before is returned when its size is
// within the request's bounds and its parameters are the same.
func TestCreateIdempotent(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "data"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"k": "v"}
	if _, created, err := s.Create(Request{Name: "a", Bytes: 30, MinBytes: 30, Parameters: params}); err != nil || !created {
		t.Fatalf("Create = %t, %v", created, err)
	}
	if _, err := s.Expand("a", 50); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    Request
		ok   bool
	}{
		{"same request after growing", Request{Bytes: 30, MinBytes: 30, Parameters: params}, true},
		{"no bounds", Request{Bytes: 1, Parameters: params}, true},
		{"limit at the size", Request{Bytes: 30, MinBytes: 30, MaxBytes: 50, Parameters: params}, true},
		{"more than it has", Request{Bytes: 60, MinBytes: 60, Parameters: params}, false},
		{"limit below its size", Request{Bytes: 30, MinBytes: 30, MaxBytes: 40, Parameters: params}, false},
		{"other parameters", Request{Bytes: 30, MinBytes: 30, Parameters: map[string]string{"k": "w"}}, false},
		{"no parameters", Request{Bytes: 30, MinBytes: 30}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Name = "a"
			v, created, err := s.Create(tc.r)
			if created {
				t.Fatal("created again")
			}
			if tc.ok && (err != nil || v.CapacityBytes != 50) {
				t.Fatalf("Create = %+v, %v; want the volume of 50 bytes", v, err)
			}
			if !tc.ok && !errors.Is(err, ErrConflict) {
				t.Fatalf("Create = %v, want ErrConflict", err)
			}
		})
	}
}

// TestCorruptRecord: an unreadable record (a crash cut it short) does not
// hide the node's other volumes, and creating its volume again mends it.
func TestCorruptRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(Request{Name: "good", Bytes: 10}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"empty": "", "cut": `{"id":"cut","capa`, "other": `{"id":"good"}`} {
		if err := os.WriteFile(filepath.Join(dir, metaDir, name+".json"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	vols, err := s.List()
	if err != nil || len(vols) != 1 || vols[0].ID != "good" {
		t.Fatalf("List = %+v, %v; want the good volume only", vols, err)
	}
	if avail, err := s.Available(); err != nil || avail != 90 {
		t.Fatalf("Available = %d, %v", avail, err)
	}
	if _, err := s.Get("empty"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt record: %v", err)
	}
	if v, created, err := s.Create(Request{Name: "empty", Bytes: 20}); err != nil || !created || v.CapacityBytes != 20 {
		t.Fatalf("Create over a corrupt record = %+v, %t, %v", v, created, err)
	}
	if v, err := s.Get("empty"); err != nil || v.CapacityBytes != 20 {
		t.Fatalf("the record written again: %+v, %v", v, err)
	}
	if err := s.Delete("cut"); err != nil {
		t.Fatalf("Delete of a volume with a corrupt record: %v", err)
	}
}

// The data directory is the driver's alone, even when something else
// made it open to all: the volumes in it are writable by anyone.
func TestDataDirectoryClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil { // as a hostPath DirectoryOrCreate makes it
		t.Fatal(err)
	}
	if _, err := Open(dir, 0); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %o, want 700", perm)
	}
}
