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
