package client

import (
	"context"

	"google.golang.org/grpc"

	appsv1 "skiff.dev/api/apps/v1"
	authenticationv1 "skiff.dev/api/authentication/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	certificatesv1 "skiff.dev/api/certificates/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	nodev1 "skiff.dev/api/node/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
)

// CoreV1 is the corev1 API group.
type CoreV1 struct{ conn *grpc.ClientConn }

// Namespaces are the Namespace objects (cluster-scoped).
func (g CoreV1) Namespaces() *NamespaceClient {
	svc := corev1.NewNamespaceServiceClient(g.conn)
	return &NamespaceClient{Resource: forConn[*corev1.Namespace, *corev1.NamespaceList](g.conn, ""), svc: svc, namespace: ""}
}

// Pods are the Pod objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Pods(namespace string) *PodClient {
	svc := corev1.NewPodServiceClient(g.conn)
	return &PodClient{Resource: forConn[*corev1.Pod, *corev1.PodList](g.conn, namespace), svc: svc, namespace: namespace}
}

// Nodes are the Node objects (cluster-scoped).
func (g CoreV1) Nodes() *Resource[*corev1.Node, *corev1.NodeList] {
	return forConn[*corev1.Node, *corev1.NodeList](g.conn, "")
}

// Services are the Service objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Services(namespace string) *Resource[*corev1.Service, *corev1.ServiceList] {
	return forConn[*corev1.Service, *corev1.ServiceList](g.conn, namespace)
}

// Endpoints are the Endpoints objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Endpoints(namespace string) *Resource[*corev1.Endpoints, *corev1.EndpointsList] {
	return forConn[*corev1.Endpoints, *corev1.EndpointsList](g.conn, namespace)
}

// ConfigMaps are the ConfigMap objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) ConfigMaps(namespace string) *Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return forConn[*corev1.ConfigMap, *corev1.ConfigMapList](g.conn, namespace)
}

// Secrets are the Secret objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Secrets(namespace string) *Resource[*corev1.Secret, *corev1.SecretList] {
	return forConn[*corev1.Secret, *corev1.SecretList](g.conn, namespace)
}

// ServiceAccounts are the ServiceAccount objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) ServiceAccounts(namespace string) *ServiceAccountClient {
	svc := corev1.NewServiceAccountServiceClient(g.conn)
	return &ServiceAccountClient{Resource: forConn[*corev1.ServiceAccount, *corev1.ServiceAccountList](g.conn, namespace), svc: svc, namespace: namespace}
}

// Events are the Event objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Events(namespace string) *Resource[*corev1.Event, *corev1.EventList] {
	return forConn[*corev1.Event, *corev1.EventList](g.conn, namespace)
}

// PodTemplates are the PodTemplate objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) PodTemplates(namespace string) *Resource[*corev1.PodTemplate, *corev1.PodTemplateList] {
	return forConn[*corev1.PodTemplate, *corev1.PodTemplateList](g.conn, namespace)
}

// AppsV1 is the appsv1 API group.
type AppsV1 struct{ conn *grpc.ClientConn }

// Deployments are the Deployment objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) Deployments(namespace string) *DeploymentClient {
	svc := appsv1.NewDeploymentServiceClient(g.conn)
	return &DeploymentClient{Resource: forConn[*appsv1.Deployment, *appsv1.DeploymentList](g.conn, namespace), svc: svc, namespace: namespace}
}

// ReplicaSets are the ReplicaSet objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) ReplicaSets(namespace string) *ReplicaSetClient {
	svc := appsv1.NewReplicaSetServiceClient(g.conn)
	return &ReplicaSetClient{Resource: forConn[*appsv1.ReplicaSet, *appsv1.ReplicaSetList](g.conn, namespace), svc: svc, namespace: namespace}
}

// DaemonSets are the DaemonSet objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) DaemonSets(namespace string) *Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return forConn[*appsv1.DaemonSet, *appsv1.DaemonSetList](g.conn, namespace)
}

// ControllerRevisions are the ControllerRevision objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) ControllerRevisions(namespace string) *Resource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList] {
	return forConn[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList](g.conn, namespace)
}

// DiscoveryV1 is the discovery.k8s.io/v1 API group.
type DiscoveryV1 struct{ conn *grpc.ClientConn }

// EndpointSlices are the EndpointSlice objects in a namespace ("" lists and watches every namespace).
func (g DiscoveryV1) EndpointSlices(namespace string) *Resource[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList] {
	return forConn[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList](g.conn, namespace)
}

// CoordinationV1 is the coordinationv1 API group.
type CoordinationV1 struct{ conn *grpc.ClientConn }

// Leases are the Lease objects in a namespace ("" lists and watches every namespace).
func (g CoordinationV1) Leases(namespace string) *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return forConn[*coordinationv1.Lease, *coordinationv1.LeaseList](g.conn, namespace)
}

// NetworkingV1 is the networking.k8s.io/v1 API group.
type NetworkingV1 struct{ conn *grpc.ClientConn }

// IPAddresses are the IPAddress objects (cluster-scoped), one per
// allocated cluster IP.
func (g NetworkingV1) IPAddresses() *Resource[*networkingv1.IPAddress, *networkingv1.IPAddressList] {
	return forConn[*networkingv1.IPAddress, *networkingv1.IPAddressList](g.conn, "")
}

// ServiceCIDRs are the ServiceCIDR objects (cluster-scoped), the ranges
// of cluster IPs.
func (g NetworkingV1) ServiceCIDRs() *Resource[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList] {
	return forConn[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList](g.conn, "")
}

// NetworkPolicies are the NetworkPolicy objects of a namespace ("" for
// all namespaces).
func (g NetworkingV1) NetworkPolicies(namespace string) *Resource[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList] {
	return forConn[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList](g.conn, namespace)
}

// Ingresses are the Ingress objects of a namespace ("" for all namespaces).
func (g NetworkingV1) Ingresses(namespace string) *Resource[*networkingv1.Ingress, *networkingv1.IngressList] {
	return forConn[*networkingv1.Ingress, *networkingv1.IngressList](g.conn, namespace)
}

// IngressClasses are the IngressClass objects (cluster-scoped).
func (g NetworkingV1) IngressClasses() *Resource[*networkingv1.IngressClass, *networkingv1.IngressClassList] {
	return forConn[*networkingv1.IngressClass, *networkingv1.IngressClassList](g.conn, "")
}

// NodeV1 is the node.k8s.io/v1 API group.
type NodeV1 struct{ conn *grpc.ClientConn }

// RuntimeClasses are the RuntimeClass objects (cluster-scoped).
func (g NodeV1) RuntimeClasses() *Resource[*nodev1.RuntimeClass, *nodev1.RuntimeClassList] {
	return forConn[*nodev1.RuntimeClass, *nodev1.RuntimeClassList](g.conn, "")
}

// SchedulingV1 is the scheduling.k8s.io/v1 API group.
type SchedulingV1 struct{ conn *grpc.ClientConn }

// PriorityClasses are the PriorityClass objects (cluster-scoped).
func (g SchedulingV1) PriorityClasses() *Resource[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList] {
	return forConn[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList](g.conn, "")
}

// FlowcontrolV1 is the flowcontrol.apiserver.k8s.io/v1 API group.
type FlowcontrolV1 struct{ conn *grpc.ClientConn }

// FlowSchemas are the FlowSchema objects (cluster-scoped).
func (g FlowcontrolV1) FlowSchemas() *Resource[*flowcontrolv1.FlowSchema, *flowcontrolv1.FlowSchemaList] {
	return forConn[*flowcontrolv1.FlowSchema, *flowcontrolv1.FlowSchemaList](g.conn, "")
}

// PriorityLevelConfigurations are the PriorityLevelConfiguration objects (cluster-scoped).
func (g FlowcontrolV1) PriorityLevelConfigurations() *Resource[*flowcontrolv1.PriorityLevelConfiguration, *flowcontrolv1.PriorityLevelConfigurationList] {
	return forConn[*flowcontrolv1.PriorityLevelConfiguration, *flowcontrolv1.PriorityLevelConfigurationList](g.conn, "")
}

// PodClient is the pods client with the binding subresource.
type PodClient struct {
	*Resource[*corev1.Pod, *corev1.PodList]
	svc       corev1.PodServiceClient
	namespace string
}

// Bind assigns the named pod to a node, as the scheduler does.
func (c *PodClient) Bind(ctx context.Context, pod, node string, opts WriteOptions) error {
	_, err := c.svc.Bind(ctx, &corev1.BindPodRequest{Options: opts.proto(), Binding: &corev1.Binding{
		Metadata: &metav1.ObjectMeta{Namespace: c.namespace, Name: pod},
		Target:   &corev1.ObjectReference{Kind: "Node", Name: node},
	}})
	return FromGRPC(err)
}

// ServiceAccountClient is the service accounts client with the token
// subresource.
type ServiceAccountClient struct {
	*Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList]
	svc       corev1.ServiceAccountServiceClient
	namespace string
}

// CreateToken asks for a token of the named service account (a nil
// request takes the defaults: the apiserver's audiences, an hour, bound
// to nothing); the answer's status holds the token and its expiry.
func (c *ServiceAccountClient) CreateToken(ctx context.Context, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	out, err := c.svc.CreateToken(ctx, &corev1.CreateServiceAccountTokenRequest{Namespace: c.namespace, Name: name, TokenRequest: req})
	return out, FromGRPC(err)
}

// NamespaceClient is the namespaces client with the finalize subresource.
type NamespaceClient struct {
	*Resource[*corev1.Namespace, *corev1.NamespaceList]
	svc       corev1.NamespaceServiceClient
	namespace string
}

// Finalize writes a namespace's spec.finalizers.
func (c *NamespaceClient) Finalize(ctx context.Context, ns *corev1.Namespace, opts WriteOptions) (*corev1.Namespace, error) {
	out, err := c.svc.Finalize(ctx, &corev1.UpdateNamespaceRequest{Object: ns, Options: opts.proto()})
	return out, FromGRPC(err)
}

// scaleService is the scale part of the Deployment and ReplicaSet services.
type scaleService[R any] interface {
	GetScale(ctx context.Context, in *metav1.GetRequest, opts ...grpc.CallOption) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, in R, opts ...grpc.CallOption) (*autoscalingv1.Scale, error)
}

func getScale[R any](ctx context.Context, svc scaleService[R], namespace, name string) (*autoscalingv1.Scale, error) {
	out, err := svc.GetScale(ctx, &metav1.GetRequest{Namespace: namespace, Name: name})
	return out, FromGRPC(err)
}

// DeploymentClient is the deployments client with the scale subresource.
type DeploymentClient struct {
	*Resource[*appsv1.Deployment, *appsv1.DeploymentList]
	svc       appsv1.DeploymentServiceClient
	namespace string
}

// GetScale reads the scale subresource.
func (c *DeploymentClient) GetScale(ctx context.Context, name string) (*autoscalingv1.Scale, error) {
	return getScale(ctx, c.svc, c.namespace, name)
}

// UpdateScale sets the replicas through the scale subresource.
func (c *DeploymentClient) UpdateScale(ctx context.Context, scale *autoscalingv1.Scale, opts WriteOptions) (*autoscalingv1.Scale, error) {
	out, err := c.svc.UpdateScale(ctx, &appsv1.UpdateDeploymentScaleRequest{Scale: scale, Options: opts.proto()})
	return out, FromGRPC(err)
}

// ReplicaSetClient is the replica sets client with the scale subresource.
type ReplicaSetClient struct {
	*Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	svc       appsv1.ReplicaSetServiceClient
	namespace string
}

// GetScale reads the scale subresource.
func (c *ReplicaSetClient) GetScale(ctx context.Context, name string) (*autoscalingv1.Scale, error) {
	return getScale(ctx, c.svc, c.namespace, name)
}

// UpdateScale sets the replicas through the scale subresource.
func (c *ReplicaSetClient) UpdateScale(ctx context.Context, scale *autoscalingv1.Scale, opts WriteOptions) (*autoscalingv1.Scale, error) {
	out, err := c.svc.UpdateScale(ctx, &appsv1.UpdateReplicaSetScaleRequest{Scale: scale, Options: opts.proto()})
	return out, FromGRPC(err)
}

// CertificatesV1 is the certificates.k8s.io/v1 API group.
type CertificatesV1 struct{ conn *grpc.ClientConn }

// CertificateSigningRequests are the CertificateSigningRequest objects
// (cluster-scoped).
func (g CertificatesV1) CertificateSigningRequests() *CertificateSigningRequestClient {
	return &CertificateSigningRequestClient{
		Resource: forConn[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList](g.conn, ""),
		svc:      certificatesv1.NewCertificateSigningRequestServiceClient(g.conn),
	}
}

// CertificateSigningRequestClient is the certificate signing requests
// client with the approval subresource.
type CertificateSigningRequestClient struct {
	*Resource[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList]
	svc certificatesv1.CertificateSigningRequestServiceClient
}

// UpdateApproval writes a request's conditions through the approval
// subresource: an Approved or Denied condition added by an approver.
func (c *CertificateSigningRequestClient) UpdateApproval(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, opts WriteOptions) (*certificatesv1.CertificateSigningRequest, error) {
	out, err := c.svc.UpdateApproval(ctx, &certificatesv1.UpdateCertificateSigningRequestRequest{Object: csr, Options: opts.proto()})
	return out, FromGRPC(err)
}
