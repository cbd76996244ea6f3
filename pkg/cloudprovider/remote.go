package cloudprovider

import (
	"context"
	"time"

	"google.golang.org/grpc"

	cloudv1 "skiff.dev/api/cloudprovider/v1"
	corev1 "skiff.dev/api/core/v1"
)

// invoker runs one call over a plugin's connection.
type invoker func(ctx context.Context, call func(context.Context, grpc.ClientConnInterface) error) error

// remote is a provider across a gRPC connection: every part of the
// contract, each call made through invoke.
type remote struct{ invoke invoker }

var (
	_ Instances     = remote{}
	_ LoadBalancer  = remote{}
	_ Routes        = remote{}
	_ VolumeLabeler = remote{}
)

// direct invokes calls straight on conn, each bounded by timeout.
func direct(conn grpc.ClientConnInterface, timeout time.Duration) invoker {
	return func(ctx context.Context, call func(context.Context, grpc.ClientConnInterface) error) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return fromStatus(call(ctx, conn))
	}
}

// cloud is the Cloud of a remote provider with caps.
func (r remote) cloud(caps Capabilities) Cloud {
	c := Cloud{Capabilities: caps}
	if caps.Instances {
		c.Instances = r
	}
	if caps.LoadBalancers {
		c.LoadBalancer = r
	}
	if caps.Routes {
		c.Routes = r
	}
	if caps.VolumeLabels {
		c.Volumes = r
	}
	return c
}

func (r remote) initialize(ctx context.Context, config []byte, clusterName string) error {
	return r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) error {
		_, err := cloudv1.NewCloudProviderServiceClient(c).Initialize(ctx, &cloudv1.InitializeRequest{Config: config, ClusterName: clusterName})
		return err
	})
}

func (r remote) capabilities(ctx context.Context) (Capabilities, error) {
	var out *cloudv1.GetCapabilitiesResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewCloudProviderServiceClient(c).GetCapabilities(ctx, &cloudv1.GetCapabilitiesRequest{})
		return err
	})
	return Capabilities{Name: out.GetName(), Instances: out.GetInstances(), LoadBalancers: out.GetLoadBalancers(),
		Routes: out.GetRoutes(), Zones: out.GetZones(), VolumeLabels: out.GetVolumeLabels()}, err
}

func (r remote) InstanceExists(ctx context.Context, node *corev1.Node) (bool, error) {
	var out *cloudv1.InstanceExistsResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewInstancesServiceClient(c).InstanceExists(ctx, &cloudv1.InstanceExistsRequest{Node: node})
		return err
	})
	return out.GetExists(), err
}

func (r remote) InstanceShutdown(ctx context.Context, node *corev1.Node) (bool, error) {
	var out *cloudv1.InstanceShutdownResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewInstancesServiceClient(c).InstanceShutdown(ctx, &cloudv1.InstanceShutdownRequest{Node: node})
		return err
	})
	return out.GetShutdown(), err
}

func (r remote) InstanceMetadata(ctx context.Context, node *corev1.Node) (*InstanceMetadata, error) {
	var out *cloudv1.InstanceMetadataResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewInstancesServiceClient(c).InstanceMetadata(ctx, &cloudv1.InstanceMetadataRequest{Node: node})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &InstanceMetadata{ProviderID: out.GetProviderId(), InstanceType: out.GetInstanceType(),
		Addresses: out.GetNodeAddresses(), Zone: out.GetZone(), Region: out.GetRegion()}, nil
}

func (r remote) GetLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	var out *cloudv1.GetLoadBalancerResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewLoadBalancerServiceClient(c).GetLoadBalancer(ctx, &cloudv1.GetLoadBalancerRequest{ClusterName: clusterName, Service: svc})
		return err
	})
	return out.GetStatus(), out.GetExists(), err
}

func (r remote) EnsureLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	var out *cloudv1.EnsureLoadBalancerResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewLoadBalancerServiceClient(c).EnsureLoadBalancer(ctx, &cloudv1.EnsureLoadBalancerRequest{
			ClusterName: clusterName, Service: svc, Nodes: nodes})
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.GetStatus() == nil {
		return &corev1.LoadBalancerStatus{}, nil
	}
	return out.GetStatus(), nil
}

func (r remote) UpdateLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service, nodes []*corev1.Node) error {
	return r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) error {
		_, err := cloudv1.NewLoadBalancerServiceClient(c).UpdateLoadBalancer(ctx, &cloudv1.UpdateLoadBalancerRequest{
			ClusterName: clusterName, Service: svc, Nodes: nodes})
		return err
	})
}

func (r remote) EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *corev1.Service) error {
	return r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) error {
		_, err := cloudv1.NewLoadBalancerServiceClient(c).EnsureLoadBalancerDeleted(ctx, &cloudv1.EnsureLoadBalancerDeletedRequest{
			ClusterName: clusterName, Service: svc})
		return err
	})
}

func (r remote) ListRoutes(ctx context.Context, clusterName string) ([]Route, error) {
	var out *cloudv1.ListRoutesResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewRoutesServiceClient(c).ListRoutes(ctx, &cloudv1.ListRoutesRequest{ClusterName: clusterName})
		return err
	})
	if err != nil {
		return nil, err
	}
	routes := make([]Route, 0, len(out.GetRoutes()))
	for _, rt := range out.GetRoutes() {
		routes = append(routes, routeFromProto(rt))
	}
	return routes, nil
}

func (r remote) CreateRoute(ctx context.Context, clusterName, nameHint string, route Route) error {
	return r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) error {
		_, err := cloudv1.NewRoutesServiceClient(c).CreateRoute(ctx, &cloudv1.CreateRouteRequest{
			ClusterName: clusterName, NameHint: nameHint, Route: routeToProto(route)})
		return err
	})
}

func (r remote) DeleteRoute(ctx context.Context, clusterName string, route Route) error {
	return r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) error {
		_, err := cloudv1.NewRoutesServiceClient(c).DeleteRoute(ctx, &cloudv1.DeleteRouteRequest{
			ClusterName: clusterName, Route: routeToProto(route)})
		return err
	})
}

func (r remote) GetVolumeLabels(ctx context.Context, pv *corev1.PersistentVolume, node *corev1.Node) (map[string]string, error) {
	var out *cloudv1.GetVolumeLabelsResponse
	err := r.invoke(ctx, func(ctx context.Context, c grpc.ClientConnInterface) (err error) {
		out, err = cloudv1.NewVolumesServiceClient(c).GetVolumeLabels(ctx, &cloudv1.GetVolumeLabelsRequest{Volume: pv, Node: node})
		return err
	})
	return out.GetLabels(), err
}
