package client

import (
	"context"

	"google.golang.org/grpc"

	appsv1 "skiff.dev/api/apps/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// CoreV1 is the corev1 API group.
type CoreV1 struct{ conn *grpc.ClientConn }

// Namespaces are the Namespace objects (cluster-scoped).
func (g CoreV1) Namespaces() *NamespaceClient {
	svc := corev1.NewNamespaceServiceClient(g.conn)
	return &NamespaceClient{Resource: newNamespace(svc, ""), svc: svc, namespace: ""}
}

func newNamespace(svc corev1.NamespaceServiceClient, namespace string) *Resource[*corev1.Namespace, *corev1.NamespaceList] {
	return newResource[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent](svc, namespace,
		func(o *corev1.Namespace, w *metav1.WriteOptions) *corev1.CreateNamespaceRequest {
			return &corev1.CreateNamespaceRequest{Object: o, Options: w}
		},
		func(o *corev1.Namespace, w *metav1.WriteOptions) *corev1.UpdateNamespaceRequest {
			return &corev1.UpdateNamespaceRequest{Object: o, Options: w}
		})
}

// Pods are the Pod objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Pods(namespace string) *PodClient {
	svc := corev1.NewPodServiceClient(g.conn)
	return &PodClient{Resource: newPod(svc, namespace), svc: svc, namespace: namespace}
}

func newPod(svc corev1.PodServiceClient, namespace string) *Resource[*corev1.Pod, *corev1.PodList] {
	return newResource[*corev1.Pod, *corev1.PodList, corev1.PodWatchEvent](svc, namespace,
		func(o *corev1.Pod, w *metav1.WriteOptions) *corev1.CreatePodRequest {
			return &corev1.CreatePodRequest{Object: o, Options: w}
		},
		func(o *corev1.Pod, w *metav1.WriteOptions) *corev1.UpdatePodRequest {
			return &corev1.UpdatePodRequest{Object: o, Options: w}
		})
}

// Nodes are the Node objects (cluster-scoped).
func (g CoreV1) Nodes() *Resource[*corev1.Node, *corev1.NodeList] {
	return newNode(corev1.NewNodeServiceClient(g.conn), "")
}

func newNode(svc corev1.NodeServiceClient, namespace string) *Resource[*corev1.Node, *corev1.NodeList] {
	return newResource[*corev1.Node, *corev1.NodeList, corev1.NodeWatchEvent](svc, namespace,
		func(o *corev1.Node, w *metav1.WriteOptions) *corev1.CreateNodeRequest {
			return &corev1.CreateNodeRequest{Object: o, Options: w}
		},
		func(o *corev1.Node, w *metav1.WriteOptions) *corev1.UpdateNodeRequest {
			return &corev1.UpdateNodeRequest{Object: o, Options: w}
		})
}

// Services are the Service objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Services(namespace string) *Resource[*corev1.Service, *corev1.ServiceList] {
	return newService(corev1.NewServiceServiceClient(g.conn), namespace)
}

func newService(svc corev1.ServiceServiceClient, namespace string) *Resource[*corev1.Service, *corev1.ServiceList] {
	return newResource[*corev1.Service, *corev1.ServiceList, corev1.ServiceWatchEvent](svc, namespace,
		func(o *corev1.Service, w *metav1.WriteOptions) *corev1.CreateServiceRequest {
			return &corev1.CreateServiceRequest{Object: o, Options: w}
		},
		func(o *corev1.Service, w *metav1.WriteOptions) *corev1.UpdateServiceRequest {
			return &corev1.UpdateServiceRequest{Object: o, Options: w}
		})
}

// Endpoints are the Endpoints objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Endpoints(namespace string) *Resource[*corev1.Endpoints, *corev1.EndpointsList] {
	return newEndpoints(corev1.NewEndpointsServiceClient(g.conn), namespace)
}

func newEndpoints(svc corev1.EndpointsServiceClient, namespace string) *Resource[*corev1.Endpoints, *corev1.EndpointsList] {
	return newResource[*corev1.Endpoints, *corev1.EndpointsList, corev1.EndpointsWatchEvent](svc, namespace,
		func(o *corev1.Endpoints, w *metav1.WriteOptions) *corev1.CreateEndpointsRequest {
			return &corev1.CreateEndpointsRequest{Object: o, Options: w}
		},
		func(o *corev1.Endpoints, w *metav1.WriteOptions) *corev1.UpdateEndpointsRequest {
			return &corev1.UpdateEndpointsRequest{Object: o, Options: w}
		})
}

// ConfigMaps are the ConfigMap objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) ConfigMaps(namespace string) *Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newConfigMap(corev1.NewConfigMapServiceClient(g.conn), namespace)
}

func newConfigMap(svc corev1.ConfigMapServiceClient, namespace string) *Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newResource[*corev1.ConfigMap, *corev1.ConfigMapList, corev1.ConfigMapWatchEvent](svc, namespace,
		func(o *corev1.ConfigMap, w *metav1.WriteOptions) *corev1.CreateConfigMapRequest {
			return &corev1.CreateConfigMapRequest{Object: o, Options: w}
		},
		func(o *corev1.ConfigMap, w *metav1.WriteOptions) *corev1.UpdateConfigMapRequest {
			return &corev1.UpdateConfigMapRequest{Object: o, Options: w}
		})
}

// Secrets are the Secret objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Secrets(namespace string) *Resource[*corev1.Secret, *corev1.SecretList] {
	return newSecret(corev1.NewSecretServiceClient(g.conn), namespace)
}

func newSecret(svc corev1.SecretServiceClient, namespace string) *Resource[*corev1.Secret, *corev1.SecretList] {
	return newResource[*corev1.Secret, *corev1.SecretList, corev1.SecretWatchEvent](svc, namespace,
		func(o *corev1.Secret, w *metav1.WriteOptions) *corev1.CreateSecretRequest {
			return &corev1.CreateSecretRequest{Object: o, Options: w}
		},
		func(o *corev1.Secret, w *metav1.WriteOptions) *corev1.UpdateSecretRequest {
			return &corev1.UpdateSecretRequest{Object: o, Options: w}
		})
}

// ServiceAccounts are the ServiceAccount objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) ServiceAccounts(namespace string) *Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return newServiceAccount(corev1.NewServiceAccountServiceClient(g.conn), namespace)
}

func newServiceAccount(svc corev1.ServiceAccountServiceClient, namespace string) *Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return newResource[*corev1.ServiceAccount, *corev1.ServiceAccountList, corev1.ServiceAccountWatchEvent](svc, namespace,
		func(o *corev1.ServiceAccount, w *metav1.WriteOptions) *corev1.CreateServiceAccountRequest {
			return &corev1.CreateServiceAccountRequest{Object: o, Options: w}
		},
		func(o *corev1.ServiceAccount, w *metav1.WriteOptions) *corev1.UpdateServiceAccountRequest {
			return &corev1.UpdateServiceAccountRequest{Object: o, Options: w}
		})
}

// Events are the Event objects in a namespace ("" lists and watches every namespace).
func (g CoreV1) Events(namespace string) *Resource[*corev1.Event, *corev1.EventList] {
	return newEvent(corev1.NewEventServiceClient(g.conn), namespace)
}

func newEvent(svc corev1.EventServiceClient, namespace string) *Resource[*corev1.Event, *corev1.EventList] {
	return newResource[*corev1.Event, *corev1.EventList, corev1.EventWatchEvent](svc, namespace,
		func(o *corev1.Event, w *metav1.WriteOptions) *corev1.CreateEventRequest {
			return &corev1.CreateEventRequest{Object: o, Options: w}
		},
		func(o *corev1.Event, w *metav1.WriteOptions) *corev1.UpdateEventRequest {
			return &corev1.UpdateEventRequest{Object: o, Options: w}
		})
}

// AppsV1 is the appsv1 API group.
type AppsV1 struct{ conn *grpc.ClientConn }

// Deployments are the Deployment objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) Deployments(namespace string) *DeploymentClient {
	svc := appsv1.NewDeploymentServiceClient(g.conn)
	return &DeploymentClient{Resource: newDeployment(svc, namespace), svc: svc, namespace: namespace}
}

func newDeployment(svc appsv1.DeploymentServiceClient, namespace string) *Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return newResource[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent](svc, namespace,
		func(o *appsv1.Deployment, w *metav1.WriteOptions) *appsv1.CreateDeploymentRequest {
			return &appsv1.CreateDeploymentRequest{Object: o, Options: w}
		},
		func(o *appsv1.Deployment, w *metav1.WriteOptions) *appsv1.UpdateDeploymentRequest {
			return &appsv1.UpdateDeploymentRequest{Object: o, Options: w}
		})
}

// ReplicaSets are the ReplicaSet objects in a namespace ("" lists and watches every namespace).
func (g AppsV1) ReplicaSets(namespace string) *ReplicaSetClient {
	svc := appsv1.NewReplicaSetServiceClient(g.conn)
	return &ReplicaSetClient{Resource: newReplicaSet(svc, namespace), svc: svc, namespace: namespace}
}

func newReplicaSet(svc appsv1.ReplicaSetServiceClient, namespace string) *Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return newResource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent](svc, namespace,
		func(o *appsv1.ReplicaSet, w *metav1.WriteOptions) *appsv1.CreateReplicaSetRequest {
			return &appsv1.CreateReplicaSetRequest{Object: o, Options: w}
		},
		func(o *appsv1.ReplicaSet, w *metav1.WriteOptions) *appsv1.UpdateReplicaSetRequest {
			return &appsv1.UpdateReplicaSetRequest{Object: o, Options: w}
		})
}

// CoordinationV1 is the coordinationv1 API group.
type CoordinationV1 struct{ conn *grpc.ClientConn }

// Leases are the Lease objects in a namespace ("" lists and watches every namespace).
func (g CoordinationV1) Leases(namespace string) *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return newLease(coordinationv1.NewLeaseServiceClient(g.conn), namespace)
}

func newLease(svc coordinationv1.LeaseServiceClient, namespace string) *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return newResource[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent](svc, namespace,
		func(o *coordinationv1.Lease, w *metav1.WriteOptions) *coordinationv1.CreateLeaseRequest {
			return &coordinationv1.CreateLeaseRequest{Object: o, Options: w}
		},
		func(o *coordinationv1.Lease, w *metav1.WriteOptions) *coordinationv1.UpdateLeaseRequest {
			return &coordinationv1.UpdateLeaseRequest{Object: o, Options: w}
		})
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
