// Package schedulerplugin writes out-of-process scheduler plugins: a
// plugin is a program whose main hands an implementation of Filter, Score
// and/or Permit to Serve. The scheduler starts the program, talks to it
// over gRPC through hashicorp/go-plugin, keeps the plugin's view of the
// Nodes current, and asks once per pod about all candidate nodes.
//
//	func main() {
//		schedulerplugin.Serve("maintenance", &plugin{})
//	}
//
// The package holds both ends of the protocol: Serve for plugins, and
// PluginSet and Handshake for the scheduler that runs them.
package schedulerplugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "skiff.dev/api/core/v1"
	pluginv1 "skiff.dev/api/schedulerplugin/v1"
	"skiff.dev/pkg/pluginproc"
)

// Rejection says why a pod must not run on a node.
type Rejection struct {
	Node string
	// Reason is shown to users, counted per distinct reason:
	// "0/5 nodes are available: 2 node(s) are under maintenance, ...".
	Reason string
	// Unresolvable marks a node no change to other pods can make fit.
	Unresolvable bool
}

// Filterer rejects nodes for a pod. nodes are the candidates that passed
// the scheduler's own filters; the nodes not rejected fit.
type Filterer interface {
	Filter(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) ([]Rejection, error)
}

// Scorer ranks the feasible nodes for a pod from 0 to 100; nodes missing
// from the map score 0. The scheduler multiplies by the plugin's weight
// and adds the built-in plugins' scores.
type Scorer interface {
	Score(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) (map[string]int64, error)
}

// Permitter approves or refuses the node chosen for a pod, just before it
// is bound. A refusal makes the pod unschedulable with the reason given.
type Permitter interface {
	Permit(ctx context.Context, pod *corev1.Pod, node *corev1.Node) (allow bool, reason string, err error)
}

// Handshake is what the scheduler and a plugin agree on before talking;
// a plugin run by hand (without the cookie) says so and exits.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SKIFF_SCHEDULER_PLUGIN",
	MagicCookieValue: "f1c2b8f4-4a55-4d6e-9a51-7d3c0b1e6a42",
}

// Dispense is the name the plugin is served under.
const Dispense = "scheduler"

// PluginSet is the go-plugin set a scheduler passes to plugin.ClientConfig;
// dispensing Dispense yields a pluginv1.SchedulerPluginServiceClient.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{Dispense: &grpcPlugin{}}
}

// Serve runs impl as a plugin until the scheduler stops it. impl
// implements at least one of Filterer, Scorer and Permitter.
func Serve(name string, impl any) {
	srv, err := newServer(name, impl)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{Dispense: &grpcPlugin{server: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(64<<20))...)
		},
	})
}

// Logger writes JSON lines the scheduler's plugin runner understands: they
// appear in the scheduler's log at their own level, named after the plugin.
func Logger() *slog.Logger { return pluginproc.Logger() }

// grpcPlugin is go-plugin's view of the service: the server side in the
// plugin process, the client side in the scheduler.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server *server
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterSchedulerPluginServiceServer(s, p.server)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return pluginv1.NewSchedulerPluginServiceClient(conn), nil
}

// server serves one implementation and its copy of the nodes, indexed by
// the numbers the scheduler gave them.
type server struct {
	pluginv1.UnimplementedSchedulerPluginServiceServer
	name   string
	filter Filterer
	score  Scorer
	permit Permitter

	mu    sync.RWMutex
	nodes []*corev1.Node
}

func newServer(name string, impl any) (*server, error) {
	s := &server{name: name}
	s.filter, _ = impl.(Filterer)
	s.score, _ = impl.(Scorer)
	s.permit, _ = impl.(Permitter)
	if s.filter == nil && s.score == nil && s.permit == nil {
		return nil, fmt.Errorf("scheduler plugin %s implements none of Filter, Score and Permit", name)
	}
	return s, nil
}

func (s *server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	out := &pluginv1.DescribeResponse{Name: s.name}
	if s.filter != nil {
		out.ExtensionPoints = append(out.ExtensionPoints, pluginv1.ExtensionPoint_EXTENSION_POINT_FILTER)
	}
	if s.score != nil {
		out.ExtensionPoints = append(out.ExtensionPoints, pluginv1.ExtensionPoint_EXTENSION_POINT_SCORE)
	}
	if s.permit != nil {
		out.ExtensionPoints = append(out.ExtensionPoints, pluginv1.ExtensionPoint_EXTENSION_POINT_PERMIT)
	}
	return out, nil
}

// maxNodes bounds node numbers, so a bad number cannot make the cache
// allocate without limit.
const maxNodes = 1 << 22

func (s *server) SyncNodes(_ context.Context, req *pluginv1.SyncNodesRequest) (*pluginv1.SyncNodesResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetReset_() {
		s.nodes = nil
	}
	for _, e := range req.GetUpserts() {
		id := int(e.GetId())
		if id >= maxNodes {
			return nil, status.Errorf(codes.InvalidArgument, "node number %d is too large", id)
		}
		if id >= len(s.nodes) {
			s.nodes = append(s.nodes, make([]*corev1.Node, id+1-len(s.nodes))...)
		}
		s.nodes[id] = e.GetNode()
	}
	for _, id := range req.GetDeletes() {
		if int(id) < len(s.nodes) {
			s.nodes[id] = nil
		}
	}
	return &pluginv1.SyncNodesResponse{}, nil
}

// resolve turns numbers into the cached nodes.
func (s *server) resolve(ids []uint32) ([]*corev1.Node, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*corev1.Node, len(ids))
	for i, id := range ids {
		if int(id) >= len(s.nodes) || s.nodes[id] == nil {
			return nil, status.Errorf(codes.FailedPrecondition, "node %d was never synced to plugin %s", id, s.name)
		}
		out[i] = s.nodes[id]
	}
	return out, nil
}

func (s *server) Filter(ctx context.Context, req *pluginv1.FilterRequest) (*pluginv1.FilterResponse, error) {
	if s.filter == nil {
		return nil, status.Errorf(codes.Unimplemented, "plugin %s does not filter", s.name)
	}
	nodes, err := s.resolve(req.GetNodes())
	if err != nil {
		return nil, err
	}
	rejected, err := s.filter.Filter(ctx, req.GetPod(), nodes)
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "%s", err)
	}
	out := &pluginv1.FilterResponse{}
	if len(rejected) == 0 {
		return out, nil
	}
	ids := make(map[string]uint32, len(nodes))
	for i, n := range nodes {
		ids[n.GetMetadata().GetName()] = req.GetNodes()[i]
	}
	for _, r := range rejected {
		id, ok := ids[r.Node]
		if !ok {
			return nil, status.Errorf(codes.Internal, "plugin %s rejected %q, which is not a candidate", s.name, r.Node)
		}
		out.Rejections = append(out.Rejections, &pluginv1.Rejection{Node: id, Reason: r.Reason, Unresolvable: r.Unresolvable})
	}
	return out, nil
}

func (s *server) Score(ctx context.Context, req *pluginv1.ScoreRequest) (*pluginv1.ScoreResponse, error) {
	if s.score == nil {
		return nil, status.Errorf(codes.Unimplemented, "plugin %s does not score", s.name)
	}
	nodes, err := s.resolve(req.GetNodes())
	if err != nil {
		return nil, err
	}
	scores, err := s.score.Score(ctx, req.GetPod(), nodes)
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "%s", err)
	}
	out := &pluginv1.ScoreResponse{Scores: make([]int64, len(nodes))}
	for i, n := range nodes {
		out.Scores[i] = scores[n.GetMetadata().GetName()]
	}
	return out, nil
}

func (s *server) Permit(ctx context.Context, req *pluginv1.PermitRequest) (*pluginv1.PermitResponse, error) {
	if s.permit == nil {
		return nil, status.Errorf(codes.Unimplemented, "plugin %s does not permit", s.name)
	}
	nodes, err := s.resolve([]uint32{req.GetNode()})
	if err != nil {
		return nil, err
	}
	allow, reason, err := s.permit.Permit(ctx, req.GetPod(), nodes[0])
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "%s", err)
	}
	return &pluginv1.PermitResponse{Allow: allow, Reason: reason}, nil
}
