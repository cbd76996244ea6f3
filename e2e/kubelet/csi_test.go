package kubelet

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// testDriver is the CSI driver the tests register.
const testDriver = "test.csi.skiff.dev"

// csiNode answers NodeGetInfo as a driver on node name would.
type csiNode struct {
	csipb.UnimplementedNodeServer
	node string
}

func (n *csiNode) NodeGetInfo(context.Context, *csipb.NodeGetInfoRequest) (*csipb.NodeGetInfoResponse, error) {
	return &csipb.NodeGetInfoResponse{NodeId: "id-" + n.node, MaxVolumesPerNode: 9,
		AccessibleTopology: &csipb.Topology{Segments: map[string]string{"topology.test.csi.skiff.dev/node": n.node}}}, nil
}

// registrar is the driver's side of the kubelet's plugin registration, as
// node-driver-registrar serves it.
type registrar struct {
	registerapi.UnimplementedRegistrationServer
	endpoint string

	mu         sync.Mutex
	registered bool
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: testDriver, Endpoint: r.endpoint, SupportedVersions: []string{"1.0.0"}}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registered = s.GetPluginRegistered()
	if !r.registered {
		return nil, fmt.Errorf("registration refused: %s", s.GetError())
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// serveUnix serves s on a unix socket at path until stop (or the test's
// end).
func serveUnix(t *testing.T, path string, register func(*grpc.Server)) (stop func()) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return s.Stop
}

// TestCSIRegistration: a driver that puts its registration socket in the
// kubelet's plugins_registry is asked GetInfo, told it is registered, and
// published on the node as Kubernetes' kubelet does (CSINode entry,
// nodeid annotation, topology label); when its socket goes, the CSINode
// entry and the annotation go too.
func TestCSIRegistration(t *testing.T) {
	srv := framework.StartAPIServer(t)
	k := framework.StartFakeKubelet(t, srv, "csi-node")
	c := srv.Client()
	framework.WaitNodeReady(t, c, "csi-node")
	endpoint := filepath.Join(t.TempDir(), "csi.sock")
	serveUnix(t, endpoint, func(s *grpc.Server) { csipb.RegisterNodeServer(s, &csiNode{node: "csi-node"}) })
	reg := &registrar{endpoint: endpoint}
	stop := serveUnix(t, filepath.Join(k.RootDir, "plugins_registry", testDriver+"-reg.sock"),
		func(s *grpc.Server) { registerapi.RegisterRegistrationServer(s, reg) })
	csiNodes := client.For[*storagev1.CSINode, *storagev1.CSINodeList](c, "")
	ctx := context.Background()
	framework.Eventually(t, 30*time.Second, "the driver in the CSINode", func() error {
		cn, err := csiNodes.Get(ctx, "csi-node")
		if err != nil {
			return err
		}
		d := cn.GetSpec().GetDrivers()
		if len(d) != 1 || d[0].GetName() != testDriver || d[0].GetNodeId() != "id-csi-node" ||
			!slices.Equal(d[0].GetTopologyKeys(), []string{"topology.test.csi.skiff.dev/node"}) || d[0].GetAllocatable().GetCount() != 9 {
			return fmt.Errorf("drivers %v", d)
		}
		if refs := cn.GetMetadata().GetOwnerReferences(); len(refs) != 1 || refs[0].GetKind() != "Node" {
			return fmt.Errorf("owner references %v", refs)
		}
		return nil
	})
	n, err := c.CoreV1().Nodes().Get(ctx, "csi-node")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.GetMetadata().GetAnnotations()["csi.volume.kubernetes.io/nodeid"]; got != `{"test.csi.skiff.dev":"id-csi-node"}` {
		t.Errorf("nodeid annotation %q", got)
	}
	if got := n.GetMetadata().GetLabels()["topology.test.csi.skiff.dev/node"]; got != "csi-node" {
		t.Errorf("topology label %q", got)
	}
	reg.mu.Lock()
	if !reg.registered {
		t.Error("the driver was not told it is registered")
	}
	reg.mu.Unlock()
	stop() // the socket goes with the listener
	framework.Eventually(t, 30*time.Second, "the driver gone from the node", func() error {
		cn, err := csiNodes.Get(ctx, "csi-node")
		if err != nil {
			return err
		}
		n, err := c.CoreV1().Nodes().Get(ctx, "csi-node")
		if err != nil {
			return err
		}
		if len(cn.GetSpec().GetDrivers()) != 0 || n.GetMetadata().GetAnnotations()["csi.volume.kubernetes.io/nodeid"] != "" {
			return fmt.Errorf("drivers %v, annotations %v", cn.GetSpec().GetDrivers(), n.GetMetadata().GetAnnotations())
		}
		return nil
	})
}
