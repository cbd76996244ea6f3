package csi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"skiff.dev/services/kubelet/internal/csi/csitest"
)

// bind bind-mounts src on dst (made if missing) until unmount or the end
// of the test; src holds a file the test checks survives.
func bind(t *testing.T, src, dst string) (unmount func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	if err := os.WriteFile(filepath.Join(src, "data"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	unmount = func() { _ = syscall.Unmount(dst, syscall.MNT_DETACH) }
	t.Cleanup(unmount)
	return unmount
}

// A directory still mounted after the driver answered (or with no record
// to ask a driver) is never removed: the volume's data would go with it.
func TestTearDownKeepsMountedVolumes(t *testing.T) {
	tests := []struct {
		name    string
		record  bool
		mountAt func(root string) string
		err     string
	}{
		{"no record, target mounted", false, func(root string) string { return TargetPath(root, "uid", "pv-1") }, "is still mounted"},
		{"driver left the target mounted", true, func(root string) string { return TargetPath(root, "uid", "pv-1") }, "after NodeUnpublishVolume"},
		{"driver left the staging path mounted", true, func(root string) string { return StagingPath(root, driver, "vol-1") }, "after NodeUnstageVolume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &csitest.Node{Stage: true}
			d, _ := registered(t, f)
			ctx := context.Background()
			if tt.record {
				if _, err := d.SetUp(ctx, volume(), "uid"); err != nil {
					t.Fatal(err)
				}
			}
			src := t.TempDir()
			unmount := bind(t, src, tt.mountAt(d.Root))
			err := d.TearDown(ctx, "uid", "pv-1")
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("TearDown = %v, want %q", err, tt.err)
			}
			if b, err := os.ReadFile(filepath.Join(tt.mountAt(d.Root), "data")); err != nil || string(b) != "keep" {
				t.Fatalf("the mounted volume's data is gone: %v", err)
			}
			// Once the mount is gone, a retry finishes the job.
			unmount()
			if err := d.TearDown(ctx, "uid", "pv-1"); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(src, "data")); err != nil || string(b) != "keep" {
				t.Errorf("the volume's data is gone: %v", err)
			}
			for _, p := range []string{filepath.Dir(TargetPath(d.Root, "uid", "pv-1")), filepath.Dir(StagingPath(d.Root, driver, "vol-1"))} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s is left: %v", p, err)
				}
			}
		})
	}
}

// A record left empty or half-written by a crash does not make the
// tear-down fail for ever: with nothing mounted the directory goes; with
// the target still mounted it stays.
func TestCorruptRecord(t *testing.T) {
	for _, content := range []string{"", "{\"specVolID\":", "{}"} {
		for _, mounted := range []bool{false, true} {
			d, _ := registered(t, &csitest.Node{})
			dir := filepath.Dir(TargetPath(d.Root, "uid", "pv-1"))
			if err := os.MkdirAll(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, volDataFile), []byte(content), 0o640); err != nil {
				t.Fatal(err)
			}
			if mounted {
				bind(t, t.TempDir(), TargetPath(d.Root, "uid", "pv-1"))
			}
			if got := VolumesInUse(d.Root); len(got) != 0 {
				t.Errorf("VolumesInUse with a corrupt record = %q", got)
			}
			err := d.TearDown(context.Background(), "uid", "pv-1")
			_, statErr := os.Stat(dir)
			switch {
			case mounted && (err == nil || os.IsNotExist(statErr)):
				t.Errorf("record %q, target mounted: TearDown = %v, directory: %v", content, err, statErr)
			case !mounted && (err != nil || !os.IsNotExist(statErr)):
				t.Errorf("record %q: TearDown = %v, directory: %v", content, err, statErr)
			}
		}
	}
}

// The record is written in full, with no temporary file left.
func TestVolDataWritten(t *testing.T) {
	dir := t.TempDir()
	want := volData{SpecVolID: "pv", VolumeHandle: "h", DriverName: driver, VolumeLifecycleMode: "Persistent"}
	if err := writeVolData(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := readVolData(dir); err != nil || got != want {
		t.Errorf("read back %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "."+volDataFile)); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
}
