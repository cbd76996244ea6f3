package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/plugins/csi/internal/mounter"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
}

func publishReq(id, target string, readOnly bool) *csi.NodePublishVolumeRequest {
	return &csi.NodePublishVolumeRequest{
		VolumeId: id, TargetPath: target, Readonly: readOnly,
		VolumeCapability: mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER),
	}
}

func TestPublishUnpublish(t *testing.T) {
	requireRoot(t)
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	if _, err := c.CreateVolume(ctx, createReq("pvc-p", 1<<20)); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "pods", "uid", "volumes", "kubernetes.io~csi", "pvc-p", "mount")
	t.Cleanup(func() { _ = mounter.Unmount(target) })
	for range 2 { // the second call finds it published
		if _, err := c.NodePublishVolume(ctx, publishReq("pvc-p", target, false)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(target, "hello"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(c.dataDir, "pvc-p", "hello")); err != nil || string(data) != "hi" {
		t.Fatalf("the file written through the target is not in the volume: %q, %v", data, err)
	}
	_, err := c.NodePublishVolume(ctx, publishReq("pvc-p", target, true))
	wantCode(t, err, codes.AlreadyExists)

	stats, err := c.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "pvc-p", VolumePath: target})
	if err != nil {
		t.Fatal(err)
	}
	if b := stats.GetUsage()[0]; b.GetUnit() != csi.VolumeUsage_BYTES || b.GetTotal() != 1<<20 || b.GetUsed() <= 0 {
		t.Fatalf("usage %v", stats)
	}

	for range 2 { // the second call finds it gone
		if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "pvc-p", TargetPath: target}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the target is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "pvc-p", "hello")); err != nil {
		t.Fatalf("unpublishing lost the data: %v", err)
	}
}

func TestPublishReadOnly(t *testing.T) {
	requireRoot(t)
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	if _, err := c.CreateVolume(ctx, createReq("pvc-r", 1<<20)); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "mount")
	t.Cleanup(func() { _ = mounter.Unmount(target) })
	if _, err := c.NodePublishVolume(ctx, publishReq("pvc-r", target, true)); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("writing to a read-only publish: %v", err)
	}
	if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "pvc-r", TargetPath: target}); err != nil {
		t.Fatal(err)
	}
}

func TestNodeBadInput(t *testing.T) {
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "mount")
	_, err := c.NodePublishVolume(ctx, publishReq("missing", target, false))
	wantCode(t, err, codes.NotFound)
	_, err = c.NodePublishVolume(ctx, publishReq("", target, false))
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "missing", VolumePath: target})
	wantCode(t, err, codes.NotFound)
	_, err = c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "x"})
	wantCode(t, err, codes.InvalidArgument)
}

// TestDeleteInUse: a volume still published (a pod the kubelet has not
// torn down) is not deleted; once unpublished it is.
func TestDeleteInUse(t *testing.T) {
	requireRoot(t)
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	if _, err := c.CreateVolume(ctx, createReq("pvc-u", 1<<20)); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "mount")
	t.Cleanup(func() { _ = mounter.Unmount(target) })
	if _, err := c.NodePublishVolume(ctx, publishReq("pvc-u", target, false)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "data"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-u"})
	wantCode(t, err, codes.FailedPrecondition)
	if _, err := os.Stat(filepath.Join(target, "data")); err != nil {
		t.Fatalf("a refused delete lost the data: %v", err)
	}
	if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "pvc-u", TargetPath: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-u"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "pvc-u")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the volume's directory is left: %v", err)
	}
}

// TestPublishChecksSource: a target is published already only when it
// shows this volume's directory; unpublishing leaves another's mount.
func TestPublishChecksSource(t *testing.T) {
	requireRoot(t)
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	for _, name := range []string{"pvc-a", "pvc-b"} {
		if _, err := c.CreateVolume(ctx, createReq(name, 1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(t.TempDir(), "mount")
	t.Cleanup(func() { _ = mounter.Unmount(target) })
	if _, err := c.NodePublishVolume(ctx, publishReq("pvc-a", target, false)); err != nil {
		t.Fatal(err)
	}
	_, err := c.NodePublishVolume(ctx, publishReq("pvc-b", target, false))
	wantCode(t, err, codes.AlreadyExists)
	_, err = c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "pvc-b", TargetPath: target})
	wantCode(t, err, codes.FailedPrecondition)
	if n := mountsAt(t, target); n != 1 {
		t.Fatalf("%d mounts at the target, want pvc-a's only", n)
	}
	if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "pvc-a", TargetPath: target}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentPublish: publishes of one volume racing for one target
// leave one bind mount there; the losers are ABORTED or find it done.
func TestConcurrentPublish(t *testing.T) {
	requireRoot(t)
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	if _, err := c.CreateVolume(ctx, createReq("pvc-c", 1<<20)); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "mount")
	t.Cleanup(func() { _ = mounter.Unmount(target) })
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := c.NodePublishVolume(ctx, publishReq("pvc-c", target, false))
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil && status.Code(err) != codes.Aborted {
			t.Errorf("a concurrent publish: %v", err)
		}
	}
	if n := mountsAt(t, target); n != 1 {
		t.Fatalf("%d mounts stacked at the target, want 1", n)
	}
}

func mountsAt(t *testing.T, path string) int {
	t.Helper()
	table, err := mounter.Table()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range table {
		if m.Point == path {
			n++
		}
	}
	return n
}

func TestVolumeLocks(t *testing.T) {
	var l volumeLocks
	release, err := l.acquire("a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.acquire("a")
	wantCode(t, err, codes.Aborted)
	releaseB, err := l.acquire("b")
	if err != nil {
		t.Fatalf("another volume's lock: %v", err)
	}
	releaseB()
	release()
	if release, err = l.acquire("a"); err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}
