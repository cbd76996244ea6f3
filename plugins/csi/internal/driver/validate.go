package driver

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// checkCapabilities accepts mounted volumes reachable from one node.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume_capabilities are required")
	}
	for _, c := range caps {
		if c.GetBlock() != nil {
			return status.Error(codes.InvalidArgument, "block volumes are not supported: the volumes are directories")
		}
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "access_type mount is required")
		}
		if fs := c.GetMount().GetFsType(); fs != "" {
			return status.Errorf(codes.InvalidArgument, "fs_type %q: the volumes are directories of the node's filesystem", fs)
		}
		switch m := c.GetAccessMode().GetMode(); m {
		case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:
		default:
			return status.Errorf(codes.InvalidArgument, "access mode %s: a local volume is reachable from one node only", m)
		}
	}
	return nil
}

// requestedBytes is the size a capacity range asks for: its required
// bytes, else its limit, else the default, never above the limit.
func requestedBytes(r *csi.CapacityRange) (int64, error) {
	req, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || limit < 0 {
		return 0, status.Error(codes.InvalidArgument, "capacity_range: negative bytes")
	}
	if limit > 0 && req > limit {
		return 0, status.Errorf(codes.OutOfRange, "capacity_range: required_bytes %d exceed limit_bytes %d", req, limit)
	}
	switch {
	case req > 0:
		return req, nil
	case limit > 0:
		return min(limit, DefaultVolumeBytes), nil
	}
	return DefaultVolumeBytes, nil
}
