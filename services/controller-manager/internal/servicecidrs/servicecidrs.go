// Package servicecidrs is Kubernetes' ServiceCIDR controller: every
// ServiceCIDR gets the networking.k8s.io/service-cidr-finalizer and a
// Ready condition, True while it serves allocations. A deleted range stays
// (Ready False, reason Terminating) while Services still hold addresses
// that no other range covers, and goes a short grace period after the last
// such address was released, so the apiservers stop allocating from it
// before it disappears.
package servicecidrs

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers, as Kubernetes names it.
const Name = "service-cidr-controller"

// Finalizer keeps a ServiceCIDR until no address depends on it.
const Finalizer = "networking.k8s.io/service-cidr-finalizer"

// The Ready condition, its Terminating reason and the messages Kubernetes
// sets with them.
const (
	conditionReady     = "Ready"
	reasonTerminating  = "Terminating"
	messageReady       = "Kubernetes Service CIDR is ready"
	messageTerminating = "There are still IPAddresses referencing the ServiceCIDR, please remove them or create a new ServiceCIDR"
)

// Labels of the IPAddresses the apiservers' allocator makes: only those
// hold a range.
const (
	labelManagedBy = "ipaddress.kubernetes.io/managed-by"
	managedBy      = "ipallocator.k8s.io"
)

// DeletionGrace is how long a deleted range with no addresses left is
// kept, for every apiserver to stop allocating from it (Kubernetes' 10 s).
const DeletionGrace = 10 * time.Second

// Controller keeps the ServiceCIDRs' finalizer and Ready condition. Its
// keys are ServiceCIDR names.
type Controller struct {
	*controller.Controller
	c     *client.Client
	cidrs *informer.Informer[*networkingv1.ServiceCIDR]
	ips   *informer.Informer[*networkingv1.IPAddress]
	now   func() time.Time
}

// New wires the controller to the shared ServiceCIDR and IPAddress
// informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	sc := &Controller{c: c, cidrs: f.ServiceCIDRs(), ips: f.IPAddresses(), now: time.Now}
	sc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(sc.reconcile),
		Keys: sc.keys}
	sc.cidrs.AddHandler(informer.Handler[*networkingv1.ServiceCIDR]{
		OnAdd: func(s *networkingv1.ServiceCIDR) {
			sc.Enqueue(s.GetMetadata().GetName())
			// A new range may be what lets an overlapping one go.
			for _, other := range sc.overlapping(s) {
				sc.Enqueue(other)
			}
		},
		OnUpdate: func(_, s *networkingv1.ServiceCIDR) { sc.Enqueue(s.GetMetadata().GetName()) },
		OnDelete: func(s *networkingv1.ServiceCIDR) {
			for _, other := range sc.overlapping(s) {
				sc.Enqueue(other)
			}
		},
	})
	addressChanged := func(a *networkingv1.IPAddress) {
		for _, name := range sc.containing(a) {
			sc.Enqueue(name)
		}
	}
	sc.ips.AddHandler(informer.Handler[*networkingv1.IPAddress]{OnAdd: addressChanged, OnDelete: addressChanged})
	return sc
}

func (sc *Controller) keys() []string {
	var out []string
	for _, s := range sc.cidrs.Store().List() {
		out = append(out, s.GetMetadata().GetName())
	}
	return out
}

func prefixes(s *networkingv1.ServiceCIDR) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range s.GetSpec().GetCidrs() {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// overlapping names the other ranges that share addresses with s.
func (sc *Controller) overlapping(s *networkingv1.ServiceCIDR) []string {
	var out []string
	for _, other := range sc.cidrs.Store().List() {
		if other.GetMetadata().GetName() == s.GetMetadata().GetName() {
			continue
		}
		for _, p := range prefixes(s) {
			if slices.ContainsFunc(prefixes(other), p.Overlaps) {
				out = append(out, other.GetMetadata().GetName())
				break
			}
		}
	}
	return out
}

// containing names the ranges holding an allocator's address.
func (sc *Controller) containing(a *networkingv1.IPAddress) []string {
	if a.GetMetadata().GetLabels()[labelManagedBy] != managedBy {
		return nil
	}
	ip, err := netip.ParseAddr(a.GetMetadata().GetName())
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range sc.cidrs.Store().List() {
		if slices.ContainsFunc(prefixes(s), func(p netip.Prefix) bool { return p.Contains(ip) }) {
			out = append(out, s.GetMetadata().GetName())
		}
	}
	return out
}

func (sc *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	s, ok := sc.cidrs.Store().Get(name)
	if !ok {
		return 0, nil
	}
	if del := s.GetMetadata().GetDeletionTimestamp(); del != nil {
		if !slices.Contains(s.GetMetadata().GetFinalizers(), Finalizer) {
			return 0, nil
		}
		if !sc.canDelete(s) {
			return 0, sc.setReady(ctx, s, "False", reasonTerminating, messageTerminating)
		}
		if wait := DeletionGrace - sc.now().Sub(del.AsTime()); wait > 0 {
			return wait, nil
		}
		return 0, sc.removeFinalizer(ctx, s)
	}
	if !slices.Contains(s.GetMetadata().GetFinalizers(), Finalizer) {
		next := proto.Clone(s).(*networkingv1.ServiceCIDR)
		next.Metadata.Finalizers = append(next.Metadata.Finalizers, Finalizer)
		updated, err := sc.c.NetworkingV1().ServiceCIDRs().Update(ctx, next, client.WriteOptions{})
		if err != nil {
			return 0, err
		}
		s = updated
	}
	return 0, sc.setReady(ctx, s, "True", "", messageReady)
}

// canDelete: every CIDR of s lies within another range, or no address of
// the allocator lies in s alone.
func (sc *Controller) canDelete(s *networkingv1.ServiceCIDR) bool {
	others := map[string][]netip.Prefix{}
	for _, o := range sc.cidrs.Store().List() {
		if o.GetMetadata().GetName() != s.GetMetadata().GetName() {
			others[o.GetMetadata().GetName()] = prefixes(o)
		}
	}
	coveredElsewhere := func(contains func(netip.Prefix) bool) bool {
		for _, ps := range others {
			if slices.ContainsFunc(ps, contains) {
				return true
			}
		}
		return false
	}
	own := prefixes(s)
	if len(own) > 0 && !slices.ContainsFunc(own, func(p netip.Prefix) bool {
		return !coveredElsewhere(func(o netip.Prefix) bool { return o.Bits() <= p.Bits() && o.Contains(p.Addr()) })
	}) {
		return true
	}
	for _, a := range sc.ips.Store().List() {
		if a.GetMetadata().GetLabels()[labelManagedBy] != managedBy {
			continue
		}
		ip, err := netip.ParseAddr(a.GetMetadata().GetName())
		if err != nil {
			continue
		}
		inMine := slices.ContainsFunc(own, func(p netip.Prefix) bool { return p.Contains(ip) })
		if inMine && !coveredElsewhere(func(o netip.Prefix) bool { return o.Contains(ip) }) {
			slog.Debug("ServiceCIDR deletion blocked by an address", "controller", Name, "serviceCIDR", s.GetMetadata().GetName(), "ip", ip)
			return false
		}
	}
	return true
}

// setReady writes the Ready condition when its status, reason or message
// differ from what s has.
func (sc *Controller) setReady(ctx context.Context, s *networkingv1.ServiceCIDR, status, reason, message string) error {
	for _, c := range s.GetStatus().GetConditions() {
		if c.GetType() == conditionReady && c.GetStatus() == status && c.GetReason() == reason && c.GetMessage() == message {
			return nil
		}
	}
	next := proto.Clone(s).(*networkingv1.ServiceCIDR)
	if next.Status == nil {
		next.Status = &networkingv1.ServiceCIDRStatus{}
	}
	next.Status.Conditions = slices.DeleteFunc(next.Status.Conditions, func(c *metav1.Condition) bool { return c.GetType() == conditionReady })
	next.Status.Conditions = append(next.Status.Conditions, &metav1.Condition{
		Type: conditionReady, Status: status, Reason: reason, Message: message,
		LastTransitionTime: timestamppb.New(sc.now().Truncate(time.Second)),
	})
	_, err := sc.c.NetworkingV1().ServiceCIDRs().UpdateStatus(ctx, next, client.WriteOptions{})
	return err
}

func (sc *Controller) removeFinalizer(ctx context.Context, s *networkingv1.ServiceCIDR) error {
	next := proto.Clone(s).(*networkingv1.ServiceCIDR)
	next.Metadata.Finalizers = slices.DeleteFunc(next.Metadata.Finalizers, func(f string) bool { return f == Finalizer })
	_, err := sc.c.NetworkingV1().ServiceCIDRs().Update(ctx, next, client.WriteOptions{})
	if err == nil {
		slog.InfoContext(ctx, "ServiceCIDR released", "controller", Name, "serviceCIDR", s.GetMetadata().GetName())
	}
	return err
}
