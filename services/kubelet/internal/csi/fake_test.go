package csi

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeNode is a CSI Node service that records its calls; it mounts
// nothing.
type fakeNode struct {
	csipb.UnimplementedNodeServer
	stage       bool
	failPublish int // fail this many NodePublishVolume calls first

	mu       sync.Mutex
	calls    []string
	requests []any
}

func (f *fakeNode) record(call string, req any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.requests = append(f.requests, req)
}

func (f *fakeNode) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeNode) last(call string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i] == call {
			return f.requests[i]
		}
	}
	return nil
}

func (f *fakeNode) NodeGetCapabilities(context.Context, *csipb.NodeGetCapabilitiesRequest) (*csipb.NodeGetCapabilitiesResponse, error) {
	resp := &csipb.NodeGetCapabilitiesResponse{}
	if f.stage {
		resp.Capabilities = append(resp.Capabilities, &csipb.NodeServiceCapability{Type: &csipb.NodeServiceCapability_Rpc{
			Rpc: &csipb.NodeServiceCapability_RPC{Type: csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}}})
	}
	return resp, nil
}

func (f *fakeNode) NodeGetInfo(context.Context, *csipb.NodeGetInfoRequest) (*csipb.NodeGetInfoResponse, error) {
	f.record("NodeGetInfo", nil)
	return &csipb.NodeGetInfoResponse{NodeId: "node-1", MaxVolumesPerNode: 7,
		AccessibleTopology: &csipb.Topology{Segments: map[string]string{"topology.local.csi.skiff.dev/node": "node-1"}}}, nil
}

func (f *fakeNode) NodeStageVolume(_ context.Context, r *csipb.NodeStageVolumeRequest) (*csipb.NodeStageVolumeResponse, error) {
	f.record("NodeStageVolume", r)
	return &csipb.NodeStageVolumeResponse{}, nil
}

func (f *fakeNode) NodeUnstageVolume(_ context.Context, r *csipb.NodeUnstageVolumeRequest) (*csipb.NodeUnstageVolumeResponse, error) {
	f.record("NodeUnstageVolume", r)
	return &csipb.NodeUnstageVolumeResponse{}, nil
}

func (f *fakeNode) NodePublishVolume(_ context.Context, r *csipb.NodePublishVolumeRequest) (*csipb.NodePublishVolumeResponse, error) {
	f.record("NodePublishVolume", r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPublish > 0 {
		f.failPublish--
		return nil, status.Error(codes.Unavailable, "not yet")
	}
	return &csipb.NodePublishVolumeResponse{}, nil
}

func (f *fakeNode) NodeUnpublishVolume(_ context.Context, r *csipb.NodeUnpublishVolumeRequest) (*csipb.NodeUnpublishVolumeResponse, error) {
	f.record("NodeUnpublishVolume", r)
	return &csipb.NodeUnpublishVolumeResponse{}, nil
}

// startFake serves f on a socket in a temporary directory and returns
// the socket's path.
func startFake(t *testing.T, f *fakeNode) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	csipb.RegisterNodeServer(s, f)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return sock
}

// nodeInfo records what the drivers publish of the node.
type nodeInfo struct {
	installed map[string]*csipb.NodeGetInfoResponse
}

func (n *nodeInfo) InstallDriver(_ context.Context, driver string, info *csipb.NodeGetInfoResponse) error {
	if n.installed == nil {
		n.installed = map[string]*csipb.NodeGetInfoResponse{}
	}
	n.installed[driver] = info
	return nil
}

func (n *nodeInfo) UninstallDriver(_ context.Context, driver string) error {
	if _, ok := n.installed[driver]; !ok {
		return fmt.Errorf("driver %s not installed", driver)
	}
	delete(n.installed, driver)
	return nil
}
