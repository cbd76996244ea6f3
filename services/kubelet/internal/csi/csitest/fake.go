// Package csitest is a CSI Node service for tests: it records its calls
// and mounts nothing.
package csitest

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

// Node is a CSI Node service that records its calls; it mounts
// nothing.
type Node struct {
	csipb.UnimplementedNodeServer
	// Stage makes the driver claim STAGE_UNSTAGE_VOLUME.
	Stage bool
	// FailPublish fails this many NodePublishVolume calls first.
	FailPublish int
	// hang names a call that answers only when its caller gives up.
	hangCall string

	mu       sync.Mutex
	calls    []string
	requests []any
	gates    map[string]*gate
}

// gate holds the next call of a kind until released.
type gate struct {
	entered, release chan struct{}
}

// Gate holds the next call of kind call: entered is closed when it
// arrives, and it answers once release is called.
func (f *Node) Gate(call string) (entered <-chan struct{}, release func()) {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gates == nil {
		f.gates = map[string]*gate{}
	}
	f.gates[call] = g
	return g.entered, sync.OnceFunc(func() { close(g.release) })
}

func (f *Node) record(call string, req any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.requests = append(f.requests, req)
}

// Hang makes call answer only when its caller gives up.
func (f *Node) Hang(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangCall = call
}

// hang waits for the caller to give up when call is the one to hang.
func (f *Node) hang(ctx context.Context, call string) error {
	f.mu.Lock()
	hang := f.hangCall == call
	g := f.gates[call]
	delete(f.gates, call)
	f.mu.Unlock()
	if g != nil {
		close(g.entered)
		select {
		case <-g.release:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if !hang {
		return nil
	}
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

// Calls are the calls so far, in order.
func (f *Node) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Last is the last request of a call.
func (f *Node) Last(call string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i] == call {
			return f.requests[i]
		}
	}
	return nil
}

func (f *Node) NodeGetCapabilities(context.Context, *csipb.NodeGetCapabilitiesRequest) (*csipb.NodeGetCapabilitiesResponse, error) {
	resp := &csipb.NodeGetCapabilitiesResponse{}
	if f.Stage {
		resp.Capabilities = append(resp.Capabilities, &csipb.NodeServiceCapability{Type: &csipb.NodeServiceCapability_Rpc{
			Rpc: &csipb.NodeServiceCapability_RPC{Type: csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}}})
	}
	return resp, nil
}

func (f *Node) NodeGetInfo(ctx context.Context, _ *csipb.NodeGetInfoRequest) (*csipb.NodeGetInfoResponse, error) {
	f.record("NodeGetInfo", nil)
	if err := f.hang(ctx, "NodeGetInfo"); err != nil {
		return nil, err
	}
	return &csipb.NodeGetInfoResponse{NodeId: "node-1", MaxVolumesPerNode: 7,
		AccessibleTopology: &csipb.Topology{Segments: map[string]string{"topology.local.csi.skiff.dev/node": "node-1"}}}, nil
}

func (f *Node) NodeStageVolume(ctx context.Context, r *csipb.NodeStageVolumeRequest) (*csipb.NodeStageVolumeResponse, error) {
	f.record("NodeStageVolume", r)
	if err := f.hang(ctx, "NodeStageVolume"); err != nil {
		return nil, err
	}
	return &csipb.NodeStageVolumeResponse{}, nil
}

func (f *Node) NodeUnstageVolume(ctx context.Context, r *csipb.NodeUnstageVolumeRequest) (*csipb.NodeUnstageVolumeResponse, error) {
	f.record("NodeUnstageVolume", r)
	if err := f.hang(ctx, "NodeUnstageVolume"); err != nil {
		return nil, err
	}
	return &csipb.NodeUnstageVolumeResponse{}, nil
}

func (f *Node) NodePublishVolume(ctx context.Context, r *csipb.NodePublishVolumeRequest) (*csipb.NodePublishVolumeResponse, error) {
	f.record("NodePublishVolume", r)
	if err := f.hang(ctx, "NodePublishVolume"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailPublish > 0 {
		f.FailPublish--
		return nil, status.Error(codes.Unavailable, "not yet")
	}
	return &csipb.NodePublishVolumeResponse{}, nil
}

func (f *Node) NodeUnpublishVolume(ctx context.Context, r *csipb.NodeUnpublishVolumeRequest) (*csipb.NodeUnpublishVolumeResponse, error) {
	f.record("NodeUnpublishVolume", r)
	if err := f.hang(ctx, "NodeUnpublishVolume"); err != nil {
		return nil, err
	}
	return &csipb.NodeUnpublishVolumeResponse{}, nil
}

// Start serves f on a socket in a temporary directory and returns
// the socket's path.
func Start(t *testing.T, f *Node) string {
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

// NodeInfo records what the drivers publish of the node.
type NodeInfo struct {
	Installed map[string]*csipb.NodeGetInfoResponse
}

func (n *NodeInfo) InstallDriver(_ context.Context, driver string, info *csipb.NodeGetInfoResponse) error {
	if n.Installed == nil {
		n.Installed = map[string]*csipb.NodeGetInfoResponse{}
	}
	n.Installed[driver] = info
	return nil
}

func (n *NodeInfo) UninstallDriver(_ context.Context, driver string) error {
	if _, ok := n.Installed[driver]; !ok {
		return fmt.Errorf("driver %s not installed", driver)
	}
	delete(n.Installed, driver)
	return nil
}

// All are the requests of every call of a kind, in order.
func (f *Node) All(call string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for i, c := range f.calls {
		if c == call {
			out = append(out, f.requests[i])
		}
	}
	return out
}
