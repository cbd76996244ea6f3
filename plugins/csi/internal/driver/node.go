package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/plugins/csi/internal/mounter"
	"skiff.dev/plugins/csi/internal/volumes"
)

// NodeGetInfo names the node, its volume limit and its topology.
func (d *Driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{
		NodeId:             d.cfg.NodeID,
		MaxVolumesPerNode:  d.cfg.MaxVolumes,
		AccessibleTopology: d.topology(),
	}, nil
}

// NodeGetCapabilities: volume statistics. There is no stage step: a
// directory is published straight onto its target.
func (d *Driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{
			Type: csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		}},
	}}}, nil
}

// NodePublishVolume bind-mounts the volume's directory onto the target
// path, read-only when asked. Published already the same way, it
// succeeds; a target showing another directory, or read-only otherwise,
// is ALREADY_EXISTS.
func (d *Driver) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if id == "" || target == "" || req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume_id, target_path and volume_capability are required")
	}
	if err := checkCapabilities([]*csi.VolumeCapability{req.GetVolumeCapability()}); err != nil {
		return nil, err
	}
	release, err := d.locks.acquire(id)
	if err != nil {
		return nil, err
	}
	defer release()
	if _, err := d.store.Get(id); err != nil {
		return nil, volumeError(err)
	}
	target = filepath.Clean(target)
	published, err := d.publishedAt(id, target, req.GetReadonly())
	if published || err != nil {
		return &csi.NodePublishVolumeResponse{}, err
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "target path: %v", err)
	}
	if err := mounter.Bind(d.store.Path(id), target, req.GetReadonly()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// publishedAt reports whether the volume is published at target already
// with readOnly; a mount there that is not that is ALREADY_EXISTS.
func (d *Driver) publishedAt(id, target string, readOnly bool) (bool, error) {
	m, mounted, err := mounter.Find(target)
	if err != nil || !mounted {
		return false, internal(err)
	}
	origin, err := mounter.OriginOf(d.store.Path(id))
	if err != nil {
		return false, internal(err)
	}
	if !mounter.Shows(m, origin) {
		return false, status.Errorf(codes.AlreadyExists, "%s has another directory mounted (root %s of device %s), not volume %s", target, m.Root, m.Dev, id)
	}
	if m.ReadOnly() != readOnly {
		return false, status.Errorf(codes.AlreadyExists, "%s is published already with readonly=%t", target, m.ReadOnly())
	}
	return true, nil
}

// NodeUnpublishVolume unmounts the volume from the target path and
// removes it; a target that is gone already is no error. A mount at the
// target that is not the volume's is left there: FAILED_PRECONDITION.
func (d *Driver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" || req.GetTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id and target_path are required")
	}
	release, err := d.locks.acquire(id)
	if err != nil {
		return nil, err
	}
	defer release()
	target := filepath.Clean(req.GetTargetPath())
	if err := d.unmount(id, target); err != nil {
		return nil, err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove target path: %v", err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// unmount takes the volume's mounts off target, topmost first, stopping
// at one that shows anything else.
func (d *Driver) unmount(id, target string) error {
	var origin mounter.Origin
	if volumes.ValidID(id) {
		o, err := mounter.OriginOf(d.store.Path(id))
		if err != nil {
			return internal(err)
		}
		origin = o
	}
	for {
		m, mounted, err := mounter.Find(target)
		if err != nil || !mounted {
			return internal(err)
		}
		if origin.Dev == "" || !mounter.Shows(m, origin) {
			return status.Errorf(codes.FailedPrecondition, "%s has another directory mounted (root %s of device %s), not volume %s: left in place", target, m.Root, m.Dev, id)
		}
		if err := unix.Unmount(target, 0); err != nil {
			return status.Errorf(codes.Internal, "unmount %s: %v", target, err)
		}
	}
}

// internal is err as an INTERNAL status, nil for nil.
func internal(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(codes.Internal, err.Error())
}

// NodeGetVolumeStats reports the bytes and inodes the volume's files
// take, against its size and the filesystem's inodes.
func (d *Driver) NodeGetVolumeStats(_ context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	id, path := req.GetVolumeId(), req.GetVolumePath()
	if id == "" || path == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id and volume_path are required")
	}
	v, err := d.store.Get(id)
	if err != nil {
		return nil, volumeError(err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume_path %s: %v", path, err)
	}
	u, err := volumes.DirUsage(d.store.Path(id))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: v.CapacityBytes, Used: u.UsedBytes, Available: max(v.CapacityBytes-u.UsedBytes, 0)},
		{Unit: csi.VolumeUsage_INODES, Total: u.TotalInodes, Used: u.UsedInodes, Available: u.FreeInodes},
	}}, nil
}

// volumeError maps a store lookup's error to its CSI code.
func volumeError(err error) error {
	if errors.Is(err, volumes.ErrNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return status.Error(codes.Internal, fmt.Sprint(err))
}
