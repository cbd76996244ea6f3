// Package service is the cloud-controller's service controller: Services
// of type LoadBalancer get a load balancer from the cloud provider and its
// addresses in status.loadBalancer.ingress; the load balancer follows the
// set of Ready nodes, and is released when the Service is deleted or stops
// being a LoadBalancer. The finalizer service.kubernetes.io/load-balancer-
// cleanup keeps a deleted Service until its load balancer is gone.
package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/pkg/workqueue"
)

// queueOptions back off failing keys from 200 ms to 5 min: each retry
// calls the cloud provider.
var queueOptions = workqueue.Options{BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Minute}

// Name is the controller's name in --controllers.
const Name = "service"

// Finalizer keeps a Service until its load balancer is deleted.
const Finalizer = "service.kubernetes.io/load-balancer-cleanup"

// ExcludeLabel keeps a node out of every load balancer.
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// Config wires the controller.
type Config struct {
	Client      *client.Client
	Services    *informer.Informer[*corev1.Service]
	Nodes       *informer.Informer[*corev1.Node]
	ClusterName string
	Workers     int
	Events      *events.Recorder
	Observe     controller.Observer
}

// Controller is the service controller.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller

	mu sync.Mutex
	lb cloudprovider.LoadBalancer // the provider of the current term
	// applied is what the provider was last given per Service, so node
	// changes become UpdateLoadBalancer and unchanged Services no call.
	applied map[string]*applied
	// traces joins the first reconcile after each write of a Service to
	// that write's trace (node changes reconcile every Service again).
	traces telemetry.Continuer
}

var tracer = otel.Tracer("skiff.dev/services/cloud-controller/service")

// applied is a Service as the provider last ensured it.
type applied struct {
	svc   *corev1.Service
	nodes string
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) *Controller {
	c := &Controller{cfg: cfg, applied: map[string]*applied{}}
	c.ctrl = &controller.Controller{Name: Name, Workers: cfg.Workers, Observe: cfg.Observe, Reconciler: controller.ReconcileFunc(c.reconcile), Queue: queueOptions,
		Keys: func() []string {
			var keys []string
			for _, s := range cfg.Services.Store().List() {
				keys = append(keys, informer.KeyOf(s))
			}
			return keys
		}}
	enqueue := func(s *corev1.Service) { c.ctrl.Enqueue(informer.KeyOf(s)) }
	cfg.Services.AddHandler(informer.Handler[*corev1.Service]{
		OnAdd: enqueue, OnUpdate: func(_, s *corev1.Service) { enqueue(s) }, OnDelete: enqueue,
	})
	cfg.Nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd:    func(n *corev1.Node) { c.nodesChanged(nil, n) },
		OnUpdate: c.nodesChanged,
		OnDelete: func(n *corev1.Node) { c.nodesChanged(n, nil) },
	})
	return c
}

// nodesChanged requeues every load balancer when a node joins or leaves
// the set load balancers send traffic to.
func (c *Controller) nodesChanged(old, now *corev1.Node) {
	if old != nil && now != nil && eligible(old) == eligible(now) {
		return
	}
	if old == nil && !eligible(now) || now == nil && !eligible(old) {
		return
	}
	for _, s := range c.cfg.Services.Store().List() {
		if wantsLoadBalancer(s) {
			c.ctrl.Enqueue(informer.KeyOf(s))
		}
	}
}

// Run reconciles Services with lb until ctx ends: one leadership term.
// Replay must have run with lb first.
func (c *Controller) Run(ctx context.Context, lb cloudprovider.LoadBalancer) error {
	c.mu.Lock()
	c.lb, c.applied = lb, map[string]*applied{}
	c.mu.Unlock()
	return c.ctrl.Run(ctx)
}

// Replay ensures, oldest first, the load balancers of the Services that
// already show addresses, so that a provider that keeps its addresses in
// memory (the local one) learns them again before any new Service asks
// for one. It runs after every start of the provider.
func (c *Controller) Replay(ctx context.Context, lb cloudprovider.LoadBalancer) error {
	var shown []*corev1.Service
	for _, s := range c.cfg.Services.Store().List() {
		if ours(s) && hasFinalizer(s) && len(s.GetStatus().GetLoadBalancer().GetIngress()) > 0 {
			shown = append(shown, s)
		}
	}
	slices.SortFunc(shown, func(a, b *corev1.Service) int {
		if d := a.GetMetadata().GetCreationTimestamp().AsTime().Compare(b.GetMetadata().GetCreationTimestamp().AsTime()); d != 0 {
			return d
		}
		return strings.Compare(informer.KeyOf(a), informer.KeyOf(b))
	})
	nodes := c.nodes()
	for _, s := range shown {
		if _, err := lb.EnsureLoadBalancer(ctx, c.cfg.ClusterName, s, nodes); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The Service's own reconcile reports and retries it.
		}
	}
	c.mu.Lock()
	c.applied = map[string]*applied{}
	c.mu.Unlock()
	return nil
}

func (c *Controller) provider() cloudprovider.LoadBalancer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lb
}

// ours: a Service of type LoadBalancer without a class (a class names
// another implementation).
func ours(s *corev1.Service) bool {
	return s.GetSpec().GetType() == "LoadBalancer" && s.GetSpec().GetLoadBalancerClass() == ""
}

func wantsLoadBalancer(s *corev1.Service) bool {
	return ours(s) && s.GetMetadata().GetDeletionTimestamp() == nil
}

func hasFinalizer(s *corev1.Service) bool {
	return slices.Contains(s.GetMetadata().GetFinalizers(), Finalizer)
}

// eligible nodes receive load-balanced traffic: Ready, not being deleted,
// not excluded by label.
func eligible(n *corev1.Node) bool {
	if n.GetMetadata().GetDeletionTimestamp() != nil {
		return false
	}
	if _, ok := n.GetMetadata().GetLabels()[ExcludeLabel]; ok {
		return false
	}
	for _, cond := range n.GetStatus().GetConditions() {
		if cond.GetType() == "Ready" {
			return cond.GetStatus() == "True"
		}
	}
	return false
}

// nodes are the eligible nodes, by name.
func (c *Controller) nodes() []*corev1.Node {
	var out []*corev1.Node
	for _, n := range c.cfg.Nodes.Store().List() {
		if eligible(n) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Node) int {
		return strings.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
	})
	return out
}

func nodeNames(nodes []*corev1.Node) string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.GetMetadata().GetName()
	}
	return strings.Join(names, ",")
}

func (c *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	lb := c.provider()
	svc, ok := c.cfg.Services.Store().Get(key)
	if !ok {
		c.traces.Forget(key)
		return 0, c.vanished(ctx, lb, key)
	}
	ctx = c.traces.Context(ctx, key, svc.GetMetadata().GetAnnotations())
	switch {
	case wantsLoadBalancer(svc):
		ctx, span := tracer.Start(ctx, "ensure load balancer", trace.WithAttributes(attribute.String("service", key)))
		defer span.End()
		return 0, c.ensure(ctx, lb, key, svc)
	case hasFinalizer(svc):
		ctx, span := tracer.Start(ctx, "delete load balancer", trace.WithAttributes(attribute.String("service", key)))
		defer span.End()
		return 0, c.cleanup(ctx, lb, key, svc)
	}
	return 0, nil
}

// vanished releases the load balancer of a Service that went without its
// finalizer being honoured (removed by hand).
func (c *Controller) vanished(ctx context.Context, lb cloudprovider.LoadBalancer, key string) error {
	c.mu.Lock()
	last := c.applied[key]
	c.mu.Unlock()
	if last == nil {
		return nil
	}
	if err := lb.EnsureLoadBalancerDeleted(ctx, c.cfg.ClusterName, last.svc); err != nil {
		return fmt.Errorf("delete the load balancer of vanished service %s: %w", key, err)
	}
	c.forget(key)
	c.retryPending()
	return nil
}

func (c *Controller) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.applied, key)
}

// unchanged reports whether the provider was given this Service as it is
// (spec, annotations and shown status), and whether the nodes changed.
func (c *Controller) unchanged(key string, svc *corev1.Service, nodes string) (same, nodesChanged bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.applied[key]
	if last == nil || !proto.Equal(last.svc.GetSpec(), svc.GetSpec()) ||
		!proto.Equal(last.svc.GetStatus().GetLoadBalancer(), svc.GetStatus().GetLoadBalancer()) ||
		!maps.Equal(last.svc.GetMetadata().GetAnnotations(), svc.GetMetadata().GetAnnotations()) {
		return false, false
	}
	return true, last.nodes != nodes
}

func (c *Controller) remember(key string, svc *corev1.Service, nodes string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied[key] = &applied{svc: svc, nodes: nodes}
}
