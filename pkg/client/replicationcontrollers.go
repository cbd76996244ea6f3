package client

import (
	"context"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
)

// ReplicationControllers are the ReplicationController objects in a
// namespace ("" lists and watches every namespace).
func (g CoreV1) ReplicationControllers(namespace string) *ReplicationControllerClient {
	svc := corev1.NewReplicationControllerServiceClient(g.conn)
	return &ReplicationControllerClient{
		Resource: forConn[*corev1.ReplicationController, *corev1.ReplicationControllerList](g.conn, namespace),
		svc:      svc, namespace: namespace,
	}
}

// ReplicationControllerClient is the replication controllers client with
// the scale subresource.
type ReplicationControllerClient struct {
	*Resource[*corev1.ReplicationController, *corev1.ReplicationControllerList]
	svc       corev1.ReplicationControllerServiceClient
	namespace string
}

// GetScale reads the scale subresource.
func (c *ReplicationControllerClient) GetScale(ctx context.Context, name string) (*autoscalingv1.Scale, error) {
	return getScale(ctx, c.svc, c.namespace, name)
}

// UpdateScale sets the replicas through the scale subresource.
func (c *ReplicationControllerClient) UpdateScale(ctx context.Context, scale *autoscalingv1.Scale, opts WriteOptions) (*autoscalingv1.Scale, error) {
	out, err := c.svc.UpdateScale(ctx, &corev1.UpdateReplicationControllerScaleRequest{Scale: scale, Options: opts.proto()})
	return out, FromGRPC(err)
}
