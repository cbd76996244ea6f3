// Package endpointslicemirroring is Kubernetes' EndpointSlice mirroring
// controller: an Endpoints object that someone wrote for a Service
// without a selector (the endpoints controller writes those of Services
// with one) is mirrored into EndpointSlices, so everything that reads
// slices (the proxy) sees its addresses. Its slices carry
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by:
// endpointslicemirroring-controller.k8s.io and are owned by the
// Endpoints; they go when the Endpoints, or its Service, goes, when the
// Service gains a selector, and when the Endpoints is labelled
// endpointslice.kubernetes.io/skip-mirror=true or holds a leader
// election record.
package endpointslicemirroring

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers (Kubernetes' alias).
const Name = "endpointslicemirroring"

// Component is the source of its events, as Kubernetes names it.
const Component = "endpoint-slice-mirroring-controller"

// Labels, annotations and limits, as Kubernetes names them.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	LabelSkipMirror  = "endpointslice.kubernetes.io/skip-mirror"
	ManagedBy        = "endpointslicemirroring-controller.k8s.io"
	// AnnotationLeader marks Endpoints used as leader election locks.
	AnnotationLeader = "control-plane.alpha.kubernetes.io/leader"
	// DefaultMaxEndpointsPerSubset is --mirroring-max-endpoints-per-subset's
	// default; MaxMaxEndpointsPerSubset the most it may be.
	DefaultMaxEndpointsPerSubset = 1000
	MaxMaxEndpointsPerSubset     = 1000
)

// Config tunes the controller.
type Config struct {
	Workers int
	// MaxEndpointsPerSubset is how many addresses of one subset are
	// mirrored; the rest are left out, with a warning event.
	MaxEndpointsPerSubset int
}

// Controller is the mirroring controller; its keys are the Endpoints'
// (and their Services') "namespace/name".
type Controller struct {
	*controller.Controller
	cfg    Config
	c      *client.Client
	eps    *informer.Informer[*corev1.Endpoints]
	svcs   *informer.Informer[*corev1.Service]
	slices *informer.Informer[*discoveryv1.EndpointSlice]
	// exp counts slices created and not yet seen, so a stale cache does
	// not make a second slice.
	exp *controller.Expectations
	// Events warns on an Endpoints object of addresses left out (nil
	// records nothing).
	Events *events.Recorder
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, cfg Config) *Controller {
	mc := &Controller{cfg: cfg, c: c, eps: f.Endpoints(), svcs: f.Services(), slices: f.EndpointSlices(), exp: controller.NewExpectations()}
	mc.Controller = &controller.Controller{Name: Name, Workers: cfg.Workers, Reconciler: controller.ReconcileFunc(mc.reconcile),
		Keys: func() []string {
			var out []string
			for _, ep := range mc.eps.Store().List() {
				out = append(out, informer.KeyOf(ep))
			}
			for _, s := range mc.slices.Store().List() {
				if k, ok := endpointsKey(s); ok {
					out = append(out, k)
				}
			}
			return out
		}}
	enqueue := func(ep *corev1.Endpoints) { mc.Enqueue(informer.KeyOf(ep)) }
	mc.eps.AddHandler(informer.Handler[*corev1.Endpoints]{OnAdd: enqueue, OnUpdate: func(_, ep *corev1.Endpoints) { enqueue(ep) }, OnDelete: enqueue})
	onService := func(s *corev1.Service) {
		if len(s.GetSpec().GetSelector()) == 0 {
			mc.Enqueue(informer.KeyOf(s))
		}
	}
	mc.svcs.AddHandler(informer.Handler[*corev1.Service]{OnAdd: onService, OnDelete: onService,
		OnUpdate: func(old, s *corev1.Service) {
			if (len(old.GetSpec().GetSelector()) == 0) != (len(s.GetSpec().GetSelector()) == 0) {
				mc.Enqueue(informer.KeyOf(s))
			}
		}})
	onSlice := func(s *discoveryv1.EndpointSlice) {
		if k, ok := endpointsKey(s); ok {
			mc.Enqueue(k)
		}
	}
	mc.slices.AddHandler(informer.Handler[*discoveryv1.EndpointSlice]{
		OnAdd: func(s *discoveryv1.EndpointSlice) {
			if k, ok := endpointsKey(s); ok {
				mc.exp.CreationObserved(k)
				mc.Enqueue(k)
			}
		},
		OnUpdate: func(old, s *discoveryv1.EndpointSlice) { onSlice(old); onSlice(s) },
		OnDelete: onSlice,
	})
	return mc
}

// endpointsKey is the Endpoints a slice mirrors, if this controller
// manages it.
func endpointsKey(s *discoveryv1.EndpointSlice) (string, bool) {
	l := s.GetMetadata().GetLabels()
	if l[LabelManagedBy] != ManagedBy || l[LabelServiceName] == "" {
		return "", false
	}
	return s.GetMetadata().GetNamespace() + "/" + l[LabelServiceName], true
}

// mirrored are the slices this controller keeps for an Endpoints object.
func (mc *Controller) mirrored(ns, name string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, s := range mc.slices.Store().ByIndex(informer.IndexNamespace, ns) {
		if k, ok := endpointsKey(s); ok && k == ns+"/"+name {
			out = append(out, s)
		}
	}
	return out
}

// shouldMirror: an Endpoints object of a Service without a selector, not
// labelled to be skipped and not a leader election lock.
func (mc *Controller) shouldMirror(ep *corev1.Endpoints) bool {
	m := ep.GetMetadata()
	if m.GetLabels()[LabelSkipMirror] == "true" {
		return false
	}
	if _, lock := m.GetAnnotations()[AnnotationLeader]; lock {
		return false
	}
	svc, ok := mc.svcs.Store().Get(informer.KeyOf(ep))
	return ok && len(svc.GetSpec().GetSelector()) == 0
}

func (mc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	ns, name, _ := strings.Cut(key, "/")
	existing := mc.mirrored(ns, name)
	ep, ok := mc.eps.Store().Get(key)
	if !ok || !mc.shouldMirror(ep) {
		mc.exp.Forget(key)
		return 0, mc.write(ctx, key, changes{remove: existing})
	}
	if !mc.exp.Satisfied(key) {
		return 0, controller.ErrRetry // slices we created are not in the cache yet
	}
	want := Desired(ep, mc.cfg.MaxEndpointsPerSubset)
	if want.invalid > 0 {
		mc.Events.Eventf(ep, events.Warning, "InvalidIPAddress", "Skipped %d invalid IP addresses when mirroring to EndpointSlices", want.invalid)
	}
	if want.skipped > want.invalid {
		mc.Events.Eventf(ep, events.Warning, "TooManyAddressesToMirror",
			"A max of %d addresses can be mirrored to EndpointSlices per Endpoints subset. %d addresses were skipped", mc.cfg.MaxEndpointsPerSubset, want.skipped)
	}
	return 0, mc.write(ctx, key, plan(ep, want.groups, existing))
}

// write carries out the changes for the Endpoints key.
func (mc *Controller) write(ctx context.Context, key string, c changes) error {
	if c.empty() {
		return nil
	}
	ns, _, _ := strings.Cut(key, "/")
	res := mc.c.DiscoveryV1().EndpointSlices(ns)
	for _, s := range c.update {
		if _, err := res.Update(ctx, s, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("update endpointslice %s mirroring endpoints %s: %w", informer.KeyOf(s), key, err)
		}
	}
	for _, s := range c.remove {
		if _, err := res.Delete(ctx, s.GetMetadata().GetName(), nil); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete endpointslice %s mirroring endpoints %s: %w", informer.KeyOf(s), key, err)
		}
	}
	mc.exp.ExpectCreates(key, len(c.create))
	for i, s := range c.create {
		if _, err := res.Create(ctx, s, client.WriteOptions{}); err != nil {
			for range c.create[i:] {
				mc.exp.CreationObserved(key) // creates that did not happen are not waited for
			}
			if controller.NamespaceTerminating(err) {
				return nil
			}
			return fmt.Errorf("create an endpointslice mirroring endpoints %s: %w", key, err)
		}
	}
	return nil
}
