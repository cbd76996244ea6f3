package client

import (
	"context"

	"google.golang.org/grpc"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

// PolicyV1 is the policy group.
func (c *Client) PolicyV1() PolicyV1 { return PolicyV1{conn: c.conn} }

// PolicyV1 is the policy/v1 API group.
type PolicyV1 struct{ conn *grpc.ClientConn }

// PodDisruptionBudgets are the PodDisruptionBudget objects in a namespace
// ("" lists and watches every namespace).
func (g PolicyV1) PodDisruptionBudgets(namespace string) *Resource[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList] {
	return forConn[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList](g.conn, namespace)
}

// Evict evicts the named pod within its PodDisruptionBudget
// (pods/eviction), deleting it with del (nil: the pod's own grace
// period). A refusal by the budget is a *StatusError with reason
// TooManyRequests (429).
func (c *PodClient) Evict(ctx context.Context, pod string, del *metav1.DeleteOptions, opts WriteOptions) error {
	_, err := c.svc.Evict(ctx, &corev1.EvictPodRequest{Options: opts.proto(), Eviction: &policyv1.Eviction{
		Metadata:      &metav1.ObjectMeta{Namespace: c.namespace, Name: pod},
		DeleteOptions: del,
	}})
	return FromGRPC(err)
}
