package cloudprovider

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cloudv1 "skiff.dev/api/cloudprovider/v1"
)

// Serve runs impl as a provider plugin until the cloud-controller stops
// it. impl implements at least one of Instances, LoadBalancer and Routes,
// and may implement Initializer and ZoneReporter.
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

// grpcPlugin is go-plugin's view of the provider: the server side in the
// plugin process, the client side in the cloud-controller.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server *server
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	p.server.register(s)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

// server serves one implementation on the four services.
type server struct {
	impl  any // for Initializer
	cloud Cloud
}

func newServer(name string, impl any) (*server, error) {
	c := FromImpl(name, impl)
	if !c.Capabilities.Instances && !c.LoadBalancers && !c.Capabilities.Routes {
		return nil, fmt.Errorf("cloud provider %s implements none of Instances, LoadBalancer and Routes", name)
	}
	return &server{impl: impl, cloud: c}, nil
}

func (s *server) register(g *grpc.Server) {
	cloudv1.RegisterCloudProviderServiceServer(g, providerServer{s: s})
	if s.cloud.Instances != nil {
		cloudv1.RegisterInstancesServiceServer(g, instancesServer{i: s.cloud.Instances})
	}
	if s.cloud.LoadBalancer != nil {
		cloudv1.RegisterLoadBalancerServiceServer(g, loadBalancerServer{lb: s.cloud.LoadBalancer})
	}
	if s.cloud.Routes != nil {
		cloudv1.RegisterRoutesServiceServer(g, routesServer{r: s.cloud.Routes})
	}
	if s.cloud.Volumes != nil {
		cloudv1.RegisterVolumesServiceServer(g, volumesServer{v: s.cloud.Volumes})
	}
}

// toStatus is the one place a provider's error becomes a gRPC status:
// context errors keep their codes, everything else is Unknown with the
// provider's message, which the cloud-controller shows to users.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

type providerServer struct {
	cloudv1.UnimplementedCloudProviderServiceServer
	s *server
}

func (p providerServer) Initialize(ctx context.Context, req *cloudv1.InitializeRequest) (*cloudv1.InitializeResponse, error) {
	if i, ok := p.s.impl.(Initializer); ok {
		if err := i.Initialize(ctx, req.GetConfig(), req.GetClusterName()); err != nil {
			return nil, toStatus(err)
		}
	}
	return &cloudv1.InitializeResponse{}, nil
}

func (p providerServer) GetCapabilities(context.Context, *cloudv1.GetCapabilitiesRequest) (*cloudv1.GetCapabilitiesResponse, error) {
	c := p.s.cloud.Capabilities
	return &cloudv1.GetCapabilitiesResponse{Name: c.Name, Instances: c.Instances, LoadBalancers: c.LoadBalancers,
		Routes: c.Routes, Zones: c.Zones, VolumeLabels: c.VolumeLabels}, nil
}

type instancesServer struct {
	cloudv1.UnimplementedInstancesServiceServer
	i Instances
}

func (s instancesServer) InstanceExists(ctx context.Context, req *cloudv1.InstanceExistsRequest) (*cloudv1.InstanceExistsResponse, error) {
	ok, err := s.i.InstanceExists(ctx, req.GetNode())
	return &cloudv1.InstanceExistsResponse{Exists: ok}, toStatus(err)
}

func (s instancesServer) InstanceShutdown(ctx context.Context, req *cloudv1.InstanceShutdownRequest) (*cloudv1.InstanceShutdownResponse, error) {
	down, err := s.i.InstanceShutdown(ctx, req.GetNode())
	return &cloudv1.InstanceShutdownResponse{Shutdown: down}, toStatus(err)
}

func (s instancesServer) InstanceMetadata(ctx context.Context, req *cloudv1.InstanceMetadataRequest) (*cloudv1.InstanceMetadataResponse, error) {
	m, err := s.i.InstanceMetadata(ctx, req.GetNode())
	if err != nil {
		return nil, toStatus(err)
	}
	return &cloudv1.InstanceMetadataResponse{ProviderId: m.ProviderID, InstanceType: m.InstanceType,
		NodeAddresses: m.Addresses, Zone: m.Zone, Region: m.Region}, nil
}

type loadBalancerServer struct {
	cloudv1.UnimplementedLoadBalancerServiceServer
	lb LoadBalancer
}

func (s loadBalancerServer) GetLoadBalancer(ctx context.Context, req *cloudv1.GetLoadBalancerRequest) (*cloudv1.GetLoadBalancerResponse, error) {
	st, ok, err := s.lb.GetLoadBalancer(ctx, req.GetClusterName(), req.GetService())
	if err != nil {
		return nil, toStatus(err)
	}
	return &cloudv1.GetLoadBalancerResponse{Exists: ok, Status: st}, nil
}

func (s loadBalancerServer) EnsureLoadBalancer(ctx context.Context, req *cloudv1.EnsureLoadBalancerRequest) (*cloudv1.EnsureLoadBalancerResponse, error) {
	st, err := s.lb.EnsureLoadBalancer(ctx, req.GetClusterName(), req.GetService(), req.GetNodes())
	if err != nil {
		return nil, toStatus(err)
	}
	return &cloudv1.EnsureLoadBalancerResponse{Status: st}, nil
}

func (s loadBalancerServer) UpdateLoadBalancer(ctx context.Context, req *cloudv1.UpdateLoadBalancerRequest) (*cloudv1.UpdateLoadBalancerResponse, error) {
	err := s.lb.UpdateLoadBalancer(ctx, req.GetClusterName(), req.GetService(), req.GetNodes())
	return &cloudv1.UpdateLoadBalancerResponse{}, toStatus(err)
}

func (s loadBalancerServer) EnsureLoadBalancerDeleted(ctx context.Context, req *cloudv1.EnsureLoadBalancerDeletedRequest) (*cloudv1.EnsureLoadBalancerDeletedResponse, error) {
	err := s.lb.EnsureLoadBalancerDeleted(ctx, req.GetClusterName(), req.GetService())
	return &cloudv1.EnsureLoadBalancerDeletedResponse{}, toStatus(err)
}

type routesServer struct {
	cloudv1.UnimplementedRoutesServiceServer
	r Routes
}

func (s routesServer) ListRoutes(ctx context.Context, req *cloudv1.ListRoutesRequest) (*cloudv1.ListRoutesResponse, error) {
	routes, err := s.r.ListRoutes(ctx, req.GetClusterName())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &cloudv1.ListRoutesResponse{}
	for _, r := range routes {
		out.Routes = append(out.Routes, routeToProto(r))
	}
	return out, nil
}

func (s routesServer) CreateRoute(ctx context.Context, req *cloudv1.CreateRouteRequest) (*cloudv1.CreateRouteResponse, error) {
	err := s.r.CreateRoute(ctx, req.GetClusterName(), req.GetNameHint(), routeFromProto(req.GetRoute()))
	return &cloudv1.CreateRouteResponse{}, toStatus(err)
}

func (s routesServer) DeleteRoute(ctx context.Context, req *cloudv1.DeleteRouteRequest) (*cloudv1.DeleteRouteResponse, error) {
	err := s.r.DeleteRoute(ctx, req.GetClusterName(), routeFromProto(req.GetRoute()))
	return &cloudv1.DeleteRouteResponse{}, toStatus(err)
}

func routeToProto(r Route) *cloudv1.Route {
	return &cloudv1.Route{Name: r.Name, TargetNode: r.TargetNode, DestinationCidr: r.DestinationCIDR, Blackhole: r.Blackhole}
}

func routeFromProto(r *cloudv1.Route) Route {
	return Route{Name: r.GetName(), TargetNode: r.GetTargetNode(), DestinationCIDR: r.GetDestinationCidr(), Blackhole: r.GetBlackhole()}
}

type volumesServer struct {
	cloudv1.UnimplementedVolumesServiceServer
	v VolumeLabeler
}

func (s volumesServer) GetVolumeLabels(ctx context.Context, req *cloudv1.GetVolumeLabelsRequest) (*cloudv1.GetVolumeLabelsResponse, error) {
	labels, err := s.v.GetVolumeLabels(ctx, req.GetVolume(), req.GetNode())
	if err != nil {
		return nil, toStatus(err)
	}
	return &cloudv1.GetVolumeLabelsResponse{Labels: labels}, nil
}
