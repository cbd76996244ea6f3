package node

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/kubelet/internal/grpctest"
)

// nodeService holds one Node; its first status writes fail with a
// Conflict, as when the controller-manager writes the new Node's podCIDR
// between the kubelet's read and its status write.
type nodeService struct {
	corev1.UnimplementedNodeServiceServer
	mu        sync.Mutex
	node      *corev1.Node
	conflicts int // status writes still to refuse
	gets      int
}

func (s *nodeService) Get(_ context.Context, _ *metav1.GetRequest) (*corev1.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.node == nil {
		return nil, statusError(&metav1.Status{Status: "Failure", Reason: "NotFound", Code: 404, Message: "not found"})
	}
	return proto.Clone(s.node).(*corev1.Node), nil
}

func (s *nodeService) Create(_ context.Context, req *corev1.CreateNodeRequest) (*corev1.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node = req.GetObject()
	return s.node, nil
}

// statusError is an error as the apiserver's gRPC face sends it.
func statusError(st *metav1.Status) error {
	se, err := status.New(codes.Unknown, st.GetMessage()).WithDetails(st)
	if err != nil {
		return err
	}
	return se.Err()
}

func (s *nodeService) UpdateStatus(_ context.Context, req *corev1.UpdateNodeRequest) (*corev1.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conflicts > 0 {
		s.conflicts--
		return nil, statusError(&metav1.Status{Status: "Failure", Reason: "Conflict", Code: 409, Message: "the object has been modified"})
	}
	s.node = req.GetObject()
	return s.node, nil
}

type readyProbe struct{}

func (readyProbe) RuntimeReady(context.Context) error                       { return nil }
func (readyProbe) Pressure() Pressure                                       { return Pressure{} }
func (readyProbe) Images(context.Context) ([]*corev1.ContainerImage, error) { return nil, nil }

func serve(t *testing.T, svc *nodeService) *client.Client {
	t.Helper()
	return grpctest.Serve(t, func(s *grpc.Server) { corev1.RegisterNodeServiceServer(s, svc) })
}

func TestRegisterRetriesAConflictingStatusWrite(t *testing.T) {
	for _, tc := range []struct {
		conflicts int
		wantErr   bool
	}{{conflicts: 2}, {conflicts: registerAttempts, wantErr: true}} {
		svc := &nodeService{conflicts: tc.conflicts,
			node: &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-a"}, Spec: &corev1.NodeSpec{PodCidr: "10.244.1.0/24"}}}
		a := NewAgent(Config{Name: "node-a", IP: "10.0.0.2"}, serve(t, svc), readyProbe{})
		err := a.Register(context.Background())
		if (err != nil) != tc.wantErr {
			t.Fatalf("%d conflicts: Register: %v, want error %v", tc.conflicts, err, tc.wantErr)
		}
		if tc.wantErr {
			if !client.IsConflict(err) {
				t.Errorf("%d conflicts: error %v is not the conflict", tc.conflicts, err)
			}
			continue
		}
		if got := svc.node.GetStatus().GetAddresses(); len(got) == 0 || got[0].GetAddress() != "10.0.0.2" {
			t.Errorf("status after retries: %v", svc.node.GetStatus())
		}
		if svc.node.GetSpec().GetPodCidr() != "10.244.1.0/24" {
			t.Errorf("the retry lost the spec: %v", svc.node.GetSpec())
		}
		if svc.gets != 1+tc.conflicts {
			t.Errorf("%d reads, want one per conflict after the first", svc.gets)
		}
	}
}

func TestRegisterWithAnExternalCloudProviderTaintsTheNewNode(t *testing.T) {
	for _, external := range []bool{false, true} {
		svc := &nodeService{}
		a := NewAgent(Config{Name: "node-a", IP: "10.0.0.2", ExternalCloudProvider: external}, serve(t, svc), readyProbe{})
		if err := a.Register(context.Background()); err != nil {
			t.Fatal(err)
		}
		taints := svc.node.GetSpec().GetTaints()
		tainted := len(taints) == 1 && taints[0].GetKey() == UninitializedTaint && taints[0].GetEffect() == "NoSchedule"
		if tainted != external || (!external && len(taints) > 0) {
			t.Errorf("external cloud provider %v: taints %v", external, taints)
		}
	}
}
