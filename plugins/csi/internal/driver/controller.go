package driver

import (
	"context"
	"errors"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/plugins/csi/internal/mounter"
	"skiff.dev/plugins/csi/internal/volumes"
)

// ControllerGetCapabilities lists what the Controller service does.
func (d *Driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t},
		}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// CreateVolume makes a directory for the volume on this node; asked again
// with the same name it returns the same volume when its size is within
// the capacity range and its parameters are the same, else ALREADY_EXISTS.
func (d *Driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	if req.GetVolumeContentSource() != nil {
		return nil, status.Error(codes.InvalidArgument, "volume content sources (snapshots, clones) are not supported")
	}
	size, err := requestedBytes(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	if !d.reachable(req.GetAccessibilityRequirements()) {
		return nil, status.Errorf(codes.ResourceExhausted, "the accessibility requirements do not include node %s, the only node this driver instance creates volumes on", d.cfg.NodeID)
	}
	release, err := d.locks.acquire(volumes.IDFor(req.GetName()))
	if err != nil {
		return nil, err
	}
	defer release()
	v, _, err := d.store.Create(volumes.Request{
		Name: req.GetName(), Bytes: size, Parameters: req.GetParameters(),
		MinBytes: req.GetCapacityRange().GetRequiredBytes(), MaxBytes: req.GetCapacityRange().GetLimitBytes(),
	})
	switch {
	case errors.Is(err, volumes.ErrConflict):
		return nil, status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, volumes.ErrNoSpace):
		return nil, status.Error(codes.ResourceExhausted, err.Error())
	case err != nil:
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:           v.ID,
		CapacityBytes:      v.CapacityBytes,
		AccessibleTopology: []*csi.Topology{d.topology()},
	}}, nil
}

// DeleteVolume removes the volume's directory and data, unless it is
// still mounted somewhere; a volume that is gone already is no error.
func (d *Driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	if !volumes.ValidID(id) {
		return &csi.DeleteVolumeResponse{}, nil // never one of ours
	}
	release, err := d.locks.acquire(id)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := d.notInUse(id); err != nil {
		return nil, err
	}
	if err := d.store.Delete(id); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// notInUse refuses (FAILED_PRECONDITION, which the provisioner retries)
// while any mount shows the volume's directory: a pod's publish the kubelet
// has not taken down yet, as after a pod deleted by force whose container
// still runs. The driver sees the publishes through its Bidirectional
// mount of the kubelet's pods directory.
func (d *Driver) notInUse(id string) error {
	mounts, err := mounter.MountsOf(d.store.Path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if len(mounts) > 0 {
		return status.Errorf(codes.FailedPrecondition, "volume %s is in use: mounted at %s", id, mounts[0].Point)
	}
	return nil
}

// GetCapacity is the capacity a new volume can take on this node; zero
// for a topology that is not this node.
func (d *Driver) GetCapacity(_ context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	if len(req.GetVolumeCapabilities()) > 0 {
		if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
			return &csi.GetCapacityResponse{}, nil
		}
	}
	if t := req.GetAccessibleTopology(); t != nil && !d.matches(t) {
		return &csi.GetCapacityResponse{}, nil
	}
	avail, err := d.store.Available()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.GetCapacityResponse{AvailableCapacity: avail}, nil
}

// ControllerExpandVolume grows the volume's recorded size; a directory
// needs nothing done on the node.
func (d *Driver) ControllerExpandVolume(_ context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	size, err := requestedBytes(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	release, err := d.locks.acquire(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()
	v, err := d.store.Expand(req.GetVolumeId(), size)
	switch {
	case errors.Is(err, volumes.ErrNotFound):
		return nil, status.Error(codes.NotFound, err.Error())
	case errors.Is(err, volumes.ErrNoSpace):
		return nil, status.Error(codes.OutOfRange, err.Error())
	case err != nil:
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: v.CapacityBytes}, nil
}

// ListVolumes lists this node's volumes, all in one page.
func (d *Driver) ListVolumes(_ context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	if req.GetStartingToken() != "" {
		return nil, status.Error(codes.Aborted, "starting_token: this driver lists every volume in one page")
	}
	vols, err := d.store.List()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &csi.ListVolumesResponse{}
	for _, v := range vols {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{Volume: &csi.Volume{
			VolumeId: v.ID, CapacityBytes: v.CapacityBytes, AccessibleTopology: []*csi.Topology{d.topology()},
		}})
	}
	return resp, nil
}

// ValidateVolumeCapabilities confirms the capabilities a volume can have.
func (d *Driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" || len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume_id and volume_capabilities are required")
	}
	if _, err := d.store.Get(req.GetVolumeId()); err != nil {
		return nil, volumeError(err)
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeCapabilities: req.GetVolumeCapabilities(),
	}}, nil
}

// reachable reports whether this node satisfies the requirements: none
// given, or this node among the requisite or preferred topologies.
func (d *Driver) reachable(req *csi.TopologyRequirement) bool {
	if req == nil || (len(req.GetRequisite()) == 0 && len(req.GetPreferred()) == 0) {
		return true
	}
	for _, t := range append(req.GetRequisite(), req.GetPreferred()...) {
		if d.matches(t) {
			return true
		}
	}
	return false
}

// matches reports whether topology t names this node (or no node).
func (d *Driver) matches(t *csi.Topology) bool {
	node, ok := t.GetSegments()[TopologyKey]
	return !ok || node == d.cfg.NodeID
}
