package csi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"

	"skiff.dev/services/kubelet/internal/mountinfo"
)

// Volume is a CSI persistent volume as a pod uses it.
type Volume struct {
	Driver, Handle string
	// PVName names the publish directory.
	PVName string
	// ReadOnly publishes read-only (the pod's claim or the PV says so).
	ReadOnly   bool
	FSType     string
	MountFlags []string
	// AccessModes are the PV's; the first one is asked for, as
	// Kubernetes does (ReadWriteOnce when none).
	AccessModes    []string
	VolumeContext  map[string]string
	PublishContext map[string]string
	StageSecrets   map[string]string
	PublishSecrets map[string]string
	// NodeName and AttachmentID go into the volume's record.
	NodeName, AttachmentID string
}

// notRegistered is Kubernetes' message for a driver not (yet) registered.
func notRegistered(driver string) error {
	return fmt.Errorf("kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name %s not found in the list of registered CSI drivers", driver)
}

// node is a connection to a driver's Node service with its capabilities.
type node struct {
	client csipb.NodeClient
	caps   []csipb.NodeServiceCapability_RPC_Type
	close  func() error
	d      *Drivers
}

// call runs one round-trip to the driver within the call timeout.
func call[Req, Resp any](ctx context.Context, n *node, f func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := n.d.callContext(ctx)
	defer cancel()
	return f(ctx, req)
}

func (d *Drivers) node(ctx context.Context, driver string) (*node, error) {
	ep, ok := d.Endpoint(driver)
	if !ok {
		return nil, notRegistered(driver)
	}
	conn, err := dial(ep)
	if err != nil {
		return nil, err
	}
	n := &node{client: csipb.NewNodeClient(conn), close: conn.Close, d: d}
	cctx, cancel := d.callContext(ctx)
	defer cancel()
	resp, err := n.client.NodeGetCapabilities(cctx, &csipb.NodeGetCapabilitiesRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("NodeGetCapabilities: %w", err)
	}
	for _, c := range resp.GetCapabilities() {
		n.caps = append(n.caps, c.GetRpc().GetType())
	}
	return n, nil
}

func (n *node) has(c csipb.NodeServiceCapability_RPC_Type) bool { return slices.Contains(n.caps, c) }

// volumeLock serialises the staging decisions about one volume.
type volumeLock struct {
	mu   sync.Mutex
	refs int // holders and waiters, so an idle lock is dropped
}

// lockVolume locks the volume (driver, handle) on this node. Whether to
// stage or unstage is decided from the other pods' records: SetUp holds
// the lock from NodeStageVolume until its record is written, TearDown
// from reading the others' records until its own is removed, so neither
// sees the other half-way (Kubernetes' operation executor serialises
// MountDevice and UnmountDevice of a volume the same way).
func (d *Drivers) lockVolume(driver, handle string) (unlock func()) {
	key := driver + "^" + handle
	d.mu.Lock()
	if d.volumes == nil {
		d.volumes = map[string]*volumeLock{}
	}
	l := d.volumes[key]
	if l == nil {
		l = &volumeLock{}
		d.volumes[key] = l
	}
	l.refs++
	wait := d.onVolumeWait
	d.mu.Unlock()
	if !l.mu.TryLock() {
		if wait != nil {
			wait()
		}
		l.mu.Lock()
	}
	return func() {
		l.mu.Unlock()
		d.mu.Lock()
		defer d.mu.Unlock()
		if l.refs--; l.refs == 0 {
			delete(d.volumes, key)
		}
	}
}

// SetUp stages the volume (when the driver stages) and publishes it for
// the pod; it returns the target path the containers mount. Both calls
// are idempotent in CSI, so a retry after a failure repeats them.
func (d *Drivers) SetUp(ctx context.Context, v *Volume, podUID string) (string, error) {
	n, err := d.node(ctx, v.Driver)
	if err != nil {
		return "", err
	}
	defer n.close()
	capability := n.capability(v)
	staging := ""
	unlock := d.lockVolume(v.Driver, v.Handle)
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	if n.has(csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME) {
		staging = StagingPath(d.Root, v.Driver, v.Handle)
		if err := os.MkdirAll(staging, 0o750); err != nil {
			return "", fmt.Errorf("make the staging directory: %w", err)
		}
		_, err := call(ctx, n, n.client.NodeStageVolume, &csipb.NodeStageVolumeRequest{
			VolumeId: v.Handle, PublishContext: v.PublishContext, StagingTargetPath: staging,
			VolumeCapability: capability, Secrets: v.StageSecrets, VolumeContext: v.VolumeContext})
		if err != nil {
			return "", fmt.Errorf("MountVolume.MountDevice failed: rpc error: NodeStageVolume: %w", err)
		}
	}
	target := TargetPath(d.Root, podUID, v.PVName)
	rec := volData{SpecVolID: v.PVName, VolumeHandle: v.Handle, DriverName: v.Driver,
		NodeName: v.NodeName, AttachmentID: v.AttachmentID, VolumeLifecycleMode: "Persistent"}
	if err := writeVolData(filepath.Dir(target), rec); err != nil {
		return "", err
	}
	// Recorded: a tear-down of another pod now sees this one.
	unlock()
	unlock = nil
	_, err = call(ctx, n, n.client.NodePublishVolume, &csipb.NodePublishVolumeRequest{
		VolumeId: v.Handle, PublishContext: v.PublishContext, StagingTargetPath: staging,
		TargetPath: target, VolumeCapability: capability, Readonly: v.ReadOnly,
		Secrets: v.PublishSecrets, VolumeContext: v.VolumeContext})
	if err != nil {
		return "", fmt.Errorf("rpc error: NodePublishVolume: %w", err)
	}
	return target, nil
}

// TearDown unpublishes the pod's volume pvName, and unstages it when no
// other pod on the node has it published. The record goes last, so a
// failure is retried.
func (d *Drivers) TearDown(ctx context.Context, podUID, pvName string) error {
	target := TargetPath(d.Root, podUID, pvName)
	rec, err := readVolData(filepath.Dir(target))
	if errors.Is(err, errCorrupt) {
		// No driver to ask: the directory goes if nothing is mounted
		// there, and stays (with the error) if something is.
		slog.WarnContext(ctx, "CSI volume record unreadable, removing its directory if unmounted", "pv", pvName, "pod", podUID, "err", err)
	}
	if os.IsNotExist(err) || errors.Is(err, errCorrupt) {
		return removeMountDir(filepath.Dir(target))
	}
	if err != nil {
		return err
	}
	n, err := d.node(ctx, rec.DriverName)
	if err != nil {
		return err
	}
	defer n.close()
	if _, err := call(ctx, n, n.client.NodeUnpublishVolume, &csipb.NodeUnpublishVolumeRequest{VolumeId: rec.VolumeHandle, TargetPath: target}); err != nil {
		return fmt.Errorf("UnmountVolume.TearDown failed for volume %q: rpc error: NodeUnpublishVolume: %w", pvName, err)
	}
	if err := removeMountPoint(target); err != nil {
		return fmt.Errorf("UnmountVolume.TearDown failed for volume %q: after NodeUnpublishVolume: %w", pvName, err)
	}
	unlock := d.lockVolume(rec.DriverName, rec.VolumeHandle)
	defer unlock()
	if n.has(csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME) && !inUse(d.Root, rec.DriverName, rec.VolumeHandle, podUID) {
		staging := StagingPath(d.Root, rec.DriverName, rec.VolumeHandle)
		if _, err := call(ctx, n, n.client.NodeUnstageVolume, &csipb.NodeUnstageVolumeRequest{VolumeId: rec.VolumeHandle, StagingTargetPath: staging}); err != nil {
			return fmt.Errorf("UnmountDevice failed for volume %q: rpc error: NodeUnstageVolume: %w", pvName, err)
		}
		if err := removeMountPoint(staging); err != nil {
			return fmt.Errorf("UnmountDevice failed for volume %q: after NodeUnstageVolume: %w", pvName, err)
		}
		if err := os.Remove(filepath.Dir(staging)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove the staging directory: %w", err)
		}
	}
	slog.InfoContext(ctx, "CSI volume torn down", "pv", pvName, "driver", rec.DriverName, "pod", podUID)
	return removeMountDir(filepath.Dir(target))
}

// removeMountPoint removes a directory a driver mounted on, once nothing
// is mounted there any more (a driver that answered but left its mount
// keeps it, and the volume's data with it).
func removeMountPoint(dir string) error {
	if err := mountinfo.Unmounted(dir); err != nil {
		return err
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// removeMountDir removes a volume's directory in a pod, as Kubernetes'
// removeMountDir: its mount point (only when unmounted), its record,
// then the directory itself — one file at a time, never a RemoveAll
// that would reach into a volume still mounted.
func removeMountDir(dir string) error {
	if err := removeMountPoint(filepath.Join(dir, "mount")); err != nil {
		return fmt.Errorf("remove the volume's directory: %w", err)
	}
	for _, p := range []string{filepath.Join(dir, volDataFile), filepath.Join(dir, "."+volDataFile), dir} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove the volume's directory: %w", err)
		}
	}
	return nil
}

// capability is the volume capability asked for: a mount with the PV's
// fsType and mount options, and the access mode of its first access mode.
func (n *node) capability(v *Volume) *csipb.VolumeCapability {
	mode := "ReadWriteOnce"
	if len(v.AccessModes) > 0 {
		mode = v.AccessModes[0]
	}
	return &csipb.VolumeCapability{
		AccessType: &csipb.VolumeCapability_Mount{Mount: &csipb.VolumeCapability_MountVolume{FsType: v.FSType, MountFlags: v.MountFlags}},
		AccessMode: &csipb.VolumeCapability_AccessMode{Mode: n.accessMode(mode)},
	}
}

// accessMode maps a Kubernetes access mode to CSI's, using the
// single-node multi/single writer modes when the driver has them.
func (n *node) accessMode(mode string) csipb.VolumeCapability_AccessMode_Mode {
	multi := n.has(csipb.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER)
	switch {
	case mode == "ReadOnlyMany":
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	case mode == "ReadWriteMany":
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	case mode == "ReadWriteOncePod" && multi:
		return csipb.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
	case mode == "ReadWriteOnce" && multi:
		return csipb.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER
	}
	return csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
}
