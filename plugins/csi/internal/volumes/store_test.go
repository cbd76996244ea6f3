package volumes

import (
	"errors"
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
	if _, created, err := s.Create("a", 30, map[string]string{"k": "v"}); err != nil || !created {
		t.Fatalf("Create = %t, %v", created, err)
	}
	if _, _, err := s.Create("b", 80, nil); !errors.Is(err, ErrNoSpace) {
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
