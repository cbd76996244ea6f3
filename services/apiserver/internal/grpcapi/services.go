package grpcapi

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	authenticationv1 "skiff.dev/api/authentication/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

// Backends finds the backend of a resource.
type Backends func(group, plural string) registry.Backend

// Register adds every resource service to s.
func Register(s grpc.ServiceRegistrar, backends Backends) error {
	get := func(group, plural string) (registry.Backend, error) {
		if b := backends(group, plural); b != nil {
			return b, nil
		}
		return nil, fmt.Errorf("no backend for %s/%s", group, plural)
	}
	var errs []error
	must := func(group, plural string) registry.Backend {
		b, err := get(group, plural)
		if err != nil {
			errs = append(errs, err)
		}
		return b
	}
	corev1.RegisterNamespaceServiceServer(s, &namespaceServer{crud: &crud[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent, *corev1.CreateNamespaceRequest, *corev1.UpdateNamespaceRequest]{backend: must("", "namespaces")}})
	corev1.RegisterPodServiceServer(s, &podServer{crud: &crud[*corev1.Pod, *corev1.PodList, corev1.PodWatchEvent, *corev1.CreatePodRequest, *corev1.UpdatePodRequest]{backend: must("", "pods")}})
	corev1.RegisterNodeServiceServer(s, &nodeServer{crud: &crud[*corev1.Node, *corev1.NodeList, corev1.NodeWatchEvent, *corev1.CreateNodeRequest, *corev1.UpdateNodeRequest]{backend: must("", "nodes")}})
	corev1.RegisterServiceServiceServer(s, &serviceServer{crud: &crud[*corev1.Service, *corev1.ServiceList, corev1.ServiceWatchEvent, *corev1.CreateServiceRequest, *corev1.UpdateServiceRequest]{backend: must("", "services")}})
	corev1.RegisterEndpointsServiceServer(s, &endpointsServer{crud: &crud[*corev1.Endpoints, *corev1.EndpointsList, corev1.EndpointsWatchEvent, *corev1.CreateEndpointsRequest, *corev1.UpdateEndpointsRequest]{backend: must("", "endpoints")}})
	corev1.RegisterConfigMapServiceServer(s, &configMapServer{crud: &crud[*corev1.ConfigMap, *corev1.ConfigMapList, corev1.ConfigMapWatchEvent, *corev1.CreateConfigMapRequest, *corev1.UpdateConfigMapRequest]{backend: must("", "configmaps")}})
	corev1.RegisterSecretServiceServer(s, &secretServer{crud: &crud[*corev1.Secret, *corev1.SecretList, corev1.SecretWatchEvent, *corev1.CreateSecretRequest, *corev1.UpdateSecretRequest]{backend: must("", "secrets")}})
	corev1.RegisterServiceAccountServiceServer(s, &serviceAccountServer{crud: &crud[*corev1.ServiceAccount, *corev1.ServiceAccountList, corev1.ServiceAccountWatchEvent, *corev1.CreateServiceAccountRequest, *corev1.UpdateServiceAccountRequest]{backend: must("", "serviceaccounts")}})
	corev1.RegisterEventServiceServer(s, &eventServer{crud: &crud[*corev1.Event, *corev1.EventList, corev1.EventWatchEvent, *corev1.CreateEventRequest, *corev1.UpdateEventRequest]{backend: must("", "events")}})
	corev1.RegisterPodTemplateServiceServer(s, &podTemplateServer{crud: &crud[*corev1.PodTemplate, *corev1.PodTemplateList, corev1.PodTemplateWatchEvent, *corev1.CreatePodTemplateRequest, *corev1.UpdatePodTemplateRequest]{backend: must("", "podtemplates")}})
	appsv1.RegisterDeploymentServiceServer(s, &deploymentServer{crud: &crud[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.CreateDeploymentRequest, *appsv1.UpdateDeploymentRequest]{backend: must("apps", "deployments")}})
	appsv1.RegisterReplicaSetServiceServer(s, &replicaSetServer{crud: &crud[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent, *appsv1.CreateReplicaSetRequest, *appsv1.UpdateReplicaSetRequest]{backend: must("apps", "replicasets")}})
	discoveryv1.RegisterEndpointSliceServiceServer(s, &endpointSliceServer{crud: &crud[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList, discoveryv1.EndpointSliceWatchEvent, *discoveryv1.CreateEndpointSliceRequest, *discoveryv1.UpdateEndpointSliceRequest]{backend: must("discovery.k8s.io", "endpointslices")}})
	coordinationv1.RegisterLeaseServiceServer(s, &leaseServer{crud: &crud[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent, *coordinationv1.CreateLeaseRequest, *coordinationv1.UpdateLeaseRequest]{backend: must("coordination.k8s.io", "leases")}})
	networkingv1.RegisterIPAddressServiceServer(s, &ipAddressServer{crud: &crud[*networkingv1.IPAddress, *networkingv1.IPAddressList, networkingv1.IPAddressWatchEvent, *networkingv1.CreateIPAddressRequest, *networkingv1.UpdateIPAddressRequest]{backend: must("networking.k8s.io", "ipaddresses")}})
	networkingv1.RegisterServiceCIDRServiceServer(s, &serviceCIDRServer{crud: &crud[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList, networkingv1.ServiceCIDRWatchEvent, *networkingv1.CreateServiceCIDRRequest, *networkingv1.UpdateServiceCIDRRequest]{backend: must("networking.k8s.io", "servicecidrs")}})
	nodev1.RegisterRuntimeClassServiceServer(s, &runtimeClassServer{crud: &crud[*nodev1.RuntimeClass, *nodev1.RuntimeClassList, nodev1.RuntimeClassWatchEvent, *nodev1.CreateRuntimeClassRequest, *nodev1.UpdateRuntimeClassRequest]{backend: must("node.k8s.io", "runtimeclasses")}})
	flowcontrolv1.RegisterFlowSchemaServiceServer(s, &flowSchemaServer{crud: &crud[*flowcontrolv1.FlowSchema, *flowcontrolv1.FlowSchemaList, flowcontrolv1.FlowSchemaWatchEvent, *flowcontrolv1.CreateFlowSchemaRequest, *flowcontrolv1.UpdateFlowSchemaRequest]{backend: must("flowcontrol.apiserver.k8s.io", "flowschemas")}})
	flowcontrolv1.RegisterPriorityLevelConfigurationServiceServer(s, &priorityLevelServer{crud: &crud[*flowcontrolv1.PriorityLevelConfiguration, *flowcontrolv1.PriorityLevelConfigurationList, flowcontrolv1.PriorityLevelConfigurationWatchEvent, *flowcontrolv1.CreatePriorityLevelConfigurationRequest, *flowcontrolv1.UpdatePriorityLevelConfigurationRequest]{backend: must("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")}})
	if len(errs) > 0 {
		return fmt.Errorf("grpc services: %v", errs)
	}
	return nil
}

// Each server is the generic verbs plus the generated Unimplemented type,
// nested one level deeper so the verbs win over its stubs.

type (
	unimplementedNamespace struct {
		corev1.UnimplementedNamespaceServiceServer
	}
	unimplementedPod struct {
		corev1.UnimplementedPodServiceServer
	}
	unimplementedNode struct {
		corev1.UnimplementedNodeServiceServer
	}
	unimplementedService struct {
		corev1.UnimplementedServiceServiceServer
	}
	unimplementedEndpoints struct {
		corev1.UnimplementedEndpointsServiceServer
	}
	unimplementedConfigMap struct {
		corev1.UnimplementedConfigMapServiceServer
	}
	unimplementedSecret struct {
		corev1.UnimplementedSecretServiceServer
	}
	unimplementedServiceAccount struct {
		corev1.UnimplementedServiceAccountServiceServer
	}
	unimplementedEvent struct {
		corev1.UnimplementedEventServiceServer
	}
	unimplementedPodTemplate struct {
		corev1.UnimplementedPodTemplateServiceServer
	}
	unimplementedDeployment struct {
		appsv1.UnimplementedDeploymentServiceServer
	}
	unimplementedReplicaSet struct {
		appsv1.UnimplementedReplicaSetServiceServer
	}
	unimplementedLease struct {
		coordinationv1.UnimplementedLeaseServiceServer
	}
	unimplementedIPAddress struct {
		networkingv1.UnimplementedIPAddressServiceServer
	}
	unimplementedServiceCIDR struct {
		networkingv1.UnimplementedServiceCIDRServiceServer
	}
	unimplementedRuntimeClass struct {
		nodev1.UnimplementedRuntimeClassServiceServer
	}
	unimplementedFlowSchema struct {
		flowcontrolv1.UnimplementedFlowSchemaServiceServer
	}
	unimplementedPriorityLevel struct {
		flowcontrolv1.UnimplementedPriorityLevelConfigurationServiceServer
	}
	unimplementedEndpointSlice struct {
		discoveryv1.UnimplementedEndpointSliceServiceServer
	}
)

type namespaceServer struct {
	*crud[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent, *corev1.CreateNamespaceRequest, *corev1.UpdateNamespaceRequest]
	unimplementedNamespace
}

// Finalize writes the namespace's spec.finalizers.
func (s *namespaceServer) Finalize(ctx context.Context, req *corev1.UpdateNamespaceRequest) (*corev1.Namespace, error) {
	f, ok := s.backend.(interface {
		Finalize(context.Context, proto.Message, registry.UpdateOptions) (proto.Message, error)
	})
	if !ok {
		return nil, toStatus(fmt.Errorf("namespaces backend cannot finalize"))
	}
	return result[*corev1.Namespace](f.Finalize(ctx, req.GetObject(), updateOptions(req.GetOptions(), "finalize")))
}

type podServer struct {
	*crud[*corev1.Pod, *corev1.PodList, corev1.PodWatchEvent, *corev1.CreatePodRequest, *corev1.UpdatePodRequest]
	unimplementedPod
}

// Bind assigns a pod to a node.
func (s *podServer) Bind(ctx context.Context, req *corev1.BindPodRequest) (*metav1.Status, error) {
	b, ok := s.backend.(interface {
		Bind(context.Context, *corev1.Binding) error
	})
	if !ok {
		return nil, toStatus(fmt.Errorf("pods backend cannot bind"))
	}
	if err := b.Bind(ctx, req.GetBinding()); err != nil {
		return nil, toStatus(err)
	}
	return statusOK(), nil
}

type nodeServer struct {
	*crud[*corev1.Node, *corev1.NodeList, corev1.NodeWatchEvent, *corev1.CreateNodeRequest, *corev1.UpdateNodeRequest]
	unimplementedNode
}

type serviceServer struct {
	*crud[*corev1.Service, *corev1.ServiceList, corev1.ServiceWatchEvent, *corev1.CreateServiceRequest, *corev1.UpdateServiceRequest]
	unimplementedService
}

type endpointsServer struct {
	*crud[*corev1.Endpoints, *corev1.EndpointsList, corev1.EndpointsWatchEvent, *corev1.CreateEndpointsRequest, *corev1.UpdateEndpointsRequest]
	unimplementedEndpoints
}

type configMapServer struct {
	*crud[*corev1.ConfigMap, *corev1.ConfigMapList, corev1.ConfigMapWatchEvent, *corev1.CreateConfigMapRequest, *corev1.UpdateConfigMapRequest]
	unimplementedConfigMap
}

type secretServer struct {
	*crud[*corev1.Secret, *corev1.SecretList, corev1.SecretWatchEvent, *corev1.CreateSecretRequest, *corev1.UpdateSecretRequest]
	unimplementedSecret
}

type serviceAccountServer struct {
	*crud[*corev1.ServiceAccount, *corev1.ServiceAccountList, corev1.ServiceAccountWatchEvent, *corev1.CreateServiceAccountRequest, *corev1.UpdateServiceAccountRequest]
	unimplementedServiceAccount
}

// CreateToken issues a token of the service account.
func (s *serviceAccountServer) CreateToken(ctx context.Context, req *corev1.CreateServiceAccountTokenRequest) (*authenticationv1.TokenRequest, error) {
	tc, ok := s.backend.(interface {
		CreateToken(context.Context, string, string, *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)
	})
	if !ok {
		return nil, toStatus(fmt.Errorf("serviceaccounts backend cannot issue tokens"))
	}
	out, err := tc.CreateToken(ctx, req.GetNamespace(), req.GetName(), req.GetTokenRequest())
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

type eventServer struct {
	*crud[*corev1.Event, *corev1.EventList, corev1.EventWatchEvent, *corev1.CreateEventRequest, *corev1.UpdateEventRequest]
	unimplementedEvent
}

type podTemplateServer struct {
	*crud[*corev1.PodTemplate, *corev1.PodTemplateList, corev1.PodTemplateWatchEvent, *corev1.CreatePodTemplateRequest, *corev1.UpdatePodTemplateRequest]
	unimplementedPodTemplate
}

// scaler is a backend with the scale subresource.
type scaler interface {
	GetScale(ctx context.Context, namespace, name string) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, namespace, name string, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error)
}

func getScale(ctx context.Context, b registry.Backend, req *metav1.GetRequest) (*autoscalingv1.Scale, error) {
	sc, ok := b.(scaler)
	if !ok {
		return nil, toStatus(fmt.Errorf("backend has no scale subresource"))
	}
	out, err := sc.GetScale(ctx, req.GetNamespace(), req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

func updateScale(ctx context.Context, b registry.Backend, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	sc, ok := b.(scaler)
	if !ok {
		return nil, toStatus(fmt.Errorf("backend has no scale subresource"))
	}
	m := scale.GetMetadata()
	out, err := sc.UpdateScale(ctx, m.GetNamespace(), m.GetName(), scale)
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

type deploymentServer struct {
	*crud[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.CreateDeploymentRequest, *appsv1.UpdateDeploymentRequest]
	unimplementedDeployment
}

// GetScale reads the deployment's scale subresource.
func (s *deploymentServer) GetScale(ctx context.Context, req *metav1.GetRequest) (*autoscalingv1.Scale, error) {
	return getScale(ctx, s.backend, req)
}

// UpdateScale sets the deployment's replicas.
func (s *deploymentServer) UpdateScale(ctx context.Context, req *appsv1.UpdateDeploymentScaleRequest) (*autoscalingv1.Scale, error) {
	return updateScale(ctx, s.backend, req.GetScale())
}

type replicaSetServer struct {
	*crud[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent, *appsv1.CreateReplicaSetRequest, *appsv1.UpdateReplicaSetRequest]
	unimplementedReplicaSet
}

// GetScale reads the replica set's scale subresource.
func (s *replicaSetServer) GetScale(ctx context.Context, req *metav1.GetRequest) (*autoscalingv1.Scale, error) {
	return getScale(ctx, s.backend, req)
}

// UpdateScale sets the replica set's replicas.
func (s *replicaSetServer) UpdateScale(ctx context.Context, req *appsv1.UpdateReplicaSetScaleRequest) (*autoscalingv1.Scale, error) {
	return updateScale(ctx, s.backend, req.GetScale())
}

type endpointSliceServer struct {
	*crud[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList, discoveryv1.EndpointSliceWatchEvent, *discoveryv1.CreateEndpointSliceRequest, *discoveryv1.UpdateEndpointSliceRequest]
	unimplementedEndpointSlice
}

type leaseServer struct {
	*crud[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent, *coordinationv1.CreateLeaseRequest, *coordinationv1.UpdateLeaseRequest]
	unimplementedLease
}

type ipAddressServer struct {
	*crud[*networkingv1.IPAddress, *networkingv1.IPAddressList, networkingv1.IPAddressWatchEvent, *networkingv1.CreateIPAddressRequest, *networkingv1.UpdateIPAddressRequest]
	unimplementedIPAddress
}

type serviceCIDRServer struct {
	*crud[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList, networkingv1.ServiceCIDRWatchEvent, *networkingv1.CreateServiceCIDRRequest, *networkingv1.UpdateServiceCIDRRequest]
	unimplementedServiceCIDR
}

type runtimeClassServer struct {
	*crud[*nodev1.RuntimeClass, *nodev1.RuntimeClassList, nodev1.RuntimeClassWatchEvent, *nodev1.CreateRuntimeClassRequest, *nodev1.UpdateRuntimeClassRequest]
	unimplementedRuntimeClass
}

type flowSchemaServer struct {
	*crud[*flowcontrolv1.FlowSchema, *flowcontrolv1.FlowSchemaList, flowcontrolv1.FlowSchemaWatchEvent, *flowcontrolv1.CreateFlowSchemaRequest, *flowcontrolv1.UpdateFlowSchemaRequest]
	unimplementedFlowSchema
}

type priorityLevelServer struct {
	*crud[*flowcontrolv1.PriorityLevelConfiguration, *flowcontrolv1.PriorityLevelConfigurationList, flowcontrolv1.PriorityLevelConfigurationWatchEvent, *flowcontrolv1.CreatePriorityLevelConfigurationRequest, *flowcontrolv1.UpdatePriorityLevelConfigurationRequest]
	unimplementedPriorityLevel
}
