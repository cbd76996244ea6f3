package service

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// ensure gives a LoadBalancer Service its finalizer, its load balancer
// and its addresses.
func (c *Controller) ensure(ctx context.Context, lb cloudprovider.LoadBalancer, key string, svc *corev1.Service) error {
	if !hasFinalizer(svc) {
		next := proto.Clone(svc).(*corev1.Service)
		next.Metadata.Finalizers = append(next.Metadata.Finalizers, Finalizer)
		out, err := c.cfg.Client.CoreV1().Services(svc.GetMetadata().GetNamespace()).Update(ctx, next, client.WriteOptions{})
		if err != nil {
			return fmt.Errorf("add finalizer to service %s: %w", key, err)
		}
		svc = out
	}
	nodes := c.nodes()
	names := nodeNames(nodes)
	same, nodesChanged := c.unchanged(key, svc, names)
	switch {
	case same && !nodesChanged:
		return nil
	case same:
		return c.updateHosts(ctx, lb, key, svc, nodes, names)
	}
	return c.ensureAddresses(ctx, lb, key, svc, nodes, names)
}

// updateHosts points an unchanged Service's load balancer at the nodes.
// names is nodeNames(nodes).
func (c *Controller) updateHosts(ctx context.Context, lb cloudprovider.LoadBalancer, key string, svc *corev1.Service, nodes []*corev1.Node, names string) error {
	if err := lb.UpdateLoadBalancer(ctx, c.cfg.ClusterName, svc, nodes); err != nil {
		c.cfg.Events.Eventf(svc, events.Warning, "UpdateLoadBalancerFailed", "Error updating load balancer with new hosts %s: %v", names, err)
		return fmt.Errorf("update the load balancer of service %s: %w", key, err)
	}
	c.cfg.Events.Eventf(svc, events.Normal, "UpdatedLoadBalancer", "Updated load balancer with new hosts")
	c.remember(key, svc, names)
	return nil
}

// ensureAddresses ensures the load balancer and writes its addresses to
// the Service's status when they changed.
func (c *Controller) ensureAddresses(ctx context.Context, lb cloudprovider.LoadBalancer, key string, svc *corev1.Service, nodes []*corev1.Node, names string) error {
	first := len(svc.GetStatus().GetLoadBalancer().GetIngress()) == 0
	if first {
		c.cfg.Events.Eventf(svc, events.Normal, "EnsuringLoadBalancer", "Ensuring load balancer")
	}
	status, err := lb.EnsureLoadBalancer(ctx, c.cfg.ClusterName, svc, nodes)
	if err != nil {
		c.cfg.Events.Eventf(svc, events.Warning, "SyncLoadBalancerFailed", "Error syncing load balancer: %v", err)
		return fmt.Errorf("ensure the load balancer of service %s: %w", key, err)
	}
	if !proto.Equal(status, svc.GetStatus().GetLoadBalancer()) {
		out, err := c.writeStatus(ctx, svc, status)
		if err != nil {
			return fmt.Errorf("write the load balancer status of service %s: %w", key, err)
		}
		svc = out
		slog.InfoContext(ctx, "load balancer ensured", "service", key, "ingress", ingressIPs(status))
		c.cfg.Events.Eventf(svc, events.Normal, "EnsuredLoadBalancer", "Ensured load balancer")
	}
	c.remember(key, svc, names)
	return nil
}

func ingressIPs(st *corev1.LoadBalancerStatus) []string {
	var out []string
	for _, in := range st.GetIngress() {
		out = append(out, in.GetIp()+in.GetHostname())
	}
	return out
}

func (c *Controller) writeStatus(ctx context.Context, svc *corev1.Service, st *corev1.LoadBalancerStatus) (*corev1.Service, error) {
	next := proto.Clone(svc).(*corev1.Service)
	if next.Status == nil {
		next.Status = &corev1.ServiceStatus{}
	}
	next.Status.LoadBalancer = st
	return c.cfg.Client.CoreV1().Services(svc.GetMetadata().GetNamespace()).UpdateStatus(ctx, next, client.WriteOptions{})
}

// cleanup deletes the load balancer of a Service that is being deleted or
// is no LoadBalancer any more, clears its addresses and lets it go.
func (c *Controller) cleanup(ctx context.Context, lb cloudprovider.LoadBalancer, key string, svc *corev1.Service) error {
	c.cfg.Events.Eventf(svc, events.Normal, "DeletingLoadBalancer", "Deleting load balancer")
	if err := lb.EnsureLoadBalancerDeleted(ctx, c.cfg.ClusterName, svc); err != nil {
		c.cfg.Events.Eventf(svc, events.Warning, "SyncLoadBalancerFailed", "Error deleting load balancer: %v", err)
		return fmt.Errorf("delete the load balancer of service %s: %w", key, err)
	}
	c.cfg.Events.Eventf(svc, events.Normal, "DeletedLoadBalancer", "Deleted load balancer")
	if svc.GetMetadata().GetDeletionTimestamp() == nil && len(svc.GetStatus().GetLoadBalancer().GetIngress()) > 0 {
		out, err := c.writeStatus(ctx, svc, &corev1.LoadBalancerStatus{})
		if err != nil {
			return fmt.Errorf("clear the load balancer status of service %s: %w", key, err)
		}
		svc = out
	}
	next := proto.Clone(svc).(*corev1.Service)
	next.Metadata.Finalizers = slices.DeleteFunc(next.Metadata.Finalizers, func(f string) bool { return f == Finalizer })
	if _, err := c.cfg.Client.CoreV1().Services(svc.GetMetadata().GetNamespace()).Update(ctx, next, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("remove the finalizer of service %s: %w", key, err)
	}
	c.forget(key)
	c.retryPending()
	return nil
}

// retryPending requeues the Services still waiting for an address: one
// was just released, and their back-off may have grown long.
func (c *Controller) retryPending() {
	for _, s := range c.cfg.Services.Store().List() {
		if wantsLoadBalancer(s) && len(s.GetStatus().GetLoadBalancer().GetIngress()) == 0 {
			c.ctrl.Enqueue(informer.KeyOf(s))
		}
	}
}
