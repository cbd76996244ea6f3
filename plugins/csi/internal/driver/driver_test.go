package driver

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"skiff.dev/plugins/csi/internal/volumes"
)

// clients reach a driver served on a unix socket in a temporary directory.
type clients struct {
	csi.IdentityClient
	csi.ControllerClient
	csi.NodeClient
	dataDir string
}

func startDriver(t *testing.T, capacity int64) clients {
	t.Helper()
	dir := t.TempDir()
	store, err := volumes.Open(filepath.Join(dir, "data"), capacity)
	if err != nil {
		t.Fatal(err)
	}
	d := New(Config{NodeID: "node-a", MaxVolumes: 10, Version: "test"}, store)
	l, err := Listen(filepath.Join(dir, "csi.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := d.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return clients{csi.NewIdentityClient(conn), csi.NewControllerClient(conn), csi.NewNodeClient(conn), filepath.Join(dir, "data")}
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

func createReq(name string, bytes int64) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{
		Name:               name,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: bytes},
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)},
	}
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code %s (%v), want %s", got, err, want)
	}
}

func TestIdentity(t *testing.T) {
	c := startDriver(t, 1<<20)
	ctx := context.Background()
	info, err := c.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || info.GetName() != Name {
		t.Fatalf("GetPluginInfo = %v, %v", info, err)
	}
	caps, err := c.GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[csi.PluginCapability_Service_Type]bool{}
	for _, c := range caps.GetCapabilities() {
		got[c.GetService().GetType()] = true
	}
	if !got[csi.PluginCapability_Service_CONTROLLER_SERVICE] || !got[csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS] {
		t.Fatalf("capabilities %v", caps)
	}
	probe, err := c.Probe(ctx, &csi.ProbeRequest{})
	if err != nil || !probe.GetReady().GetValue() {
		t.Fatalf("Probe = %v, %v", probe, err)
	}
	node, err := c.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil || node.GetNodeId() != "node-a" || node.GetMaxVolumesPerNode() != 10 ||
		node.GetAccessibleTopology().GetSegments()[TopologyKey] != "node-a" {
		t.Fatalf("NodeGetInfo = %v, %v", node, err)
	}
}

func TestCreateDeleteIdempotent(t *testing.T) {
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	first, err := c.CreateVolume(ctx, createReq("pvc-1", 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	v := first.GetVolume()
	if v.GetVolumeId() != "pvc-1" || v.GetCapacityBytes() != 4<<20 || v.GetAccessibleTopology()[0].GetSegments()[TopologyKey] != "node-a" {
		t.Fatalf("volume %v", v)
	}
	if err := os.WriteFile(filepath.Join(c.dataDir, "pvc-1", "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateVolume(ctx, createReq("pvc-1", 4<<20))
	if err != nil || again.GetVolume().GetVolumeId() != "pvc-1" {
		t.Fatalf("second CreateVolume = %v, %v", again, err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "pvc-1", "f")); err != nil {
		t.Fatalf("the second CreateVolume lost the data: %v", err)
	}
	_, err = c.CreateVolume(ctx, createReq("pvc-1", 5<<20))
	wantCode(t, err, codes.AlreadyExists)
	otherParams := createReq("pvc-1", 4<<20)
	otherParams.Parameters = map[string]string{"csi.storage.k8s.io/pvc/name": "other"}
	_, err = c.CreateVolume(ctx, otherParams)
	wantCode(t, err, codes.AlreadyExists)
	// Grown since, the volume still is what the first request asked for.
	if _, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: "pvc-1", CapacityRange: &csi.CapacityRange{RequiredBytes: 6 << 20}}); err != nil {
		t.Fatal(err)
	}
	if grown, err := c.CreateVolume(ctx, createReq("pvc-1", 4<<20)); err != nil || grown.GetVolume().GetCapacityBytes() != 6<<20 {
		t.Fatalf("CreateVolume after expansion = %v, %v", grown, err)
	}
	for range 2 {
		if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "pvc-1")); !os.IsNotExist(err) {
		t.Fatalf("the volume's directory is left: %v", err)
	}
}

func TestCreateBadInput(t *testing.T) {
	c := startDriver(t, 10<<20)
	block := createReq("b", 1)
	block.VolumeCapabilities[0].AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
	multi := createReq("m", 1)
	multi.VolumeCapabilities[0] = mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)
	otherNode := createReq("o", 1)
	otherNode.AccessibilityRequirements = &csi.TopologyRequirement{Requisite: []*csi.Topology{{Segments: map[string]string{TopologyKey: "node-b"}}}}
	limited := createReq("l", 10)
	limited.CapacityRange.LimitBytes = 5
	for _, tc := range []struct {
		name string
		req  *csi.CreateVolumeRequest
		want codes.Code
	}{
		{"no name", createReq("", 1), codes.InvalidArgument},
		{"no capabilities", &csi.CreateVolumeRequest{Name: "x"}, codes.InvalidArgument},
		{"block", block, codes.InvalidArgument},
		{"multi-node", multi, codes.InvalidArgument},
		{"required above limit", limited, codes.OutOfRange},
		{"another node", otherNode, codes.ResourceExhausted},
		{"too big", createReq("big", 11<<20), codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateVolume(context.Background(), tc.req)
			wantCode(t, err, tc.want)
		})
	}
}

func TestCapacityAccounting(t *testing.T) {
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	capacity := func() int64 {
		t.Helper()
		r, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetAvailableCapacity()
	}
	steps := []struct {
		do   func() error
		want int64
	}{
		{func() error { return nil }, 10 << 20},
		{func() error { _, err := c.CreateVolume(ctx, createReq("a", 3<<20)); return err }, 7 << 20},
		{func() error { _, err := c.CreateVolume(ctx, createReq("b", 7<<20)); return err }, 0},
		{func() error {
			_, err := c.CreateVolume(ctx, createReq("c", 1))
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("a volume beyond the capacity: %v", err)
			}
			return nil
		}, 0},
		{func() error { _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "a"}); return err }, 3 << 20},
		{func() error {
			_, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: "b", CapacityRange: &csi.CapacityRange{RequiredBytes: 9 << 20}})
			return err
		}, 1 << 20},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := capacity(); got != s.want {
			t.Fatalf("step %d: capacity %d, want %d", i, got, s.want)
		}
	}
	other, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{TopologyKey: "node-b"}}})
	if err != nil || other.GetAvailableCapacity() != 0 {
		t.Fatalf("capacity on another node = %v, %v", other, err)
	}
}

func TestCapacityFromFilesystem(t *testing.T) {
	c := startDriver(t, 0)
	r, err := c.GetCapacity(context.Background(), &csi.GetCapacityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	free, err := volumes.FreeBytes(c.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	// Other writers change the free space between the two calls.
	if diff := r.GetAvailableCapacity() - free; diff > 64<<20 || diff < -64<<20 {
		t.Fatalf("capacity %d, the filesystem has %d free", r.GetAvailableCapacity(), free)
	}
}

// ValidateVolumeCapabilities: an unknown volume is NOT_FOUND, one whose
// record cannot be read is INTERNAL.
func TestValidateVolumeCapabilitiesErrors(t *testing.T) {
	c := startDriver(t, 10<<20)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(c.dataDir, ".volumes", "cut.json"), []byte(`{"id":"cut","capa`), 0o600); err != nil {
		t.Fatal(err)
	}
	caps := []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)}
	_, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "none", VolumeCapabilities: caps})
	wantCode(t, err, codes.NotFound)
	_, err = c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "cut", VolumeCapabilities: caps})
	wantCode(t, err, codes.Internal)
}
