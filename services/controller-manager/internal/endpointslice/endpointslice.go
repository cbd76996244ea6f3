// Package endpointslice keeps each Service's EndpointSlices: one endpoint
// per selected pod with an IPv4 address (ready, serving and terminating
// conditions, node, zone), the Service's ports resolved per pod, pods with
// the same resolved ports in the same slices, at most 100 endpoints a
// slice. Slices carry kubernetes.io/service-name and are owned by their
// Service, so the garbage collector removes them with it; those of a
// headless Service also carry service.kubernetes.io/headless. An endpoint
// carries its pod's hostname when the pod's subdomain names the Service
// (the cluster DNS's HOSTNAME.SERVICE.NS.svc records).
package endpointslice

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/endpoints"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "endpointslice"

// Labels and limits, as Kubernetes names them.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	ManagedBy        = "endpointslice-controller.k8s.io"
	MaxEndpoints     = 100
	LabelHeadless    = "service.kubernetes.io/headless"
)

// Controller is the EndpointSlice controller; its keys are Services.
type Controller struct {
	*controller.Controller
	c      *client.Client
	svcs   *informer.Informer[*corev1.Service]
	slices *informer.Informer[*discoveryv1.EndpointSlice]
	pods   *informer.Informer[*corev1.Pod]
	nodes  *informer.Informer[*corev1.Node]
	// exp counts slices created and not yet seen, so a stale cache does
	// not make a Service's slices twice.
	exp *controller.Expectations
	// traces joins a reconcile to the Service's trace only for the
	// first reconcile after each write of the Service; the reconciles its
	// pods set off later are not part of that write.
	traces telemetry.Continuer
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/endpointslice")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	ec := &Controller{c: c, svcs: f.Services(), slices: f.EndpointSlices(), pods: f.Pods(), nodes: f.Nodes(), exp: controller.NewExpectations()}
	ec.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(ec.reconcile),
		Keys: func() []string {
			var out []string
			for _, s := range ec.svcs.Store().List() {
				out = append(out, informer.KeyOf(s))
			}
			return out
		}}
	enqueue := func(s *corev1.Service) { ec.Enqueue(informer.KeyOf(s)) }
	ec.svcs.AddHandler(informer.Handler[*corev1.Service]{OnAdd: enqueue, OnUpdate: func(_, s *corev1.Service) { enqueue(s) }})
	onSlice := func(s *discoveryv1.EndpointSlice) {
		if svc := s.GetMetadata().GetLabels()[LabelServiceName]; svc != "" {
			ec.Enqueue(s.GetMetadata().GetNamespace() + "/" + svc)
		}
	}
	ec.slices.AddHandler(informer.Handler[*discoveryv1.EndpointSlice]{
		OnAdd: func(s *discoveryv1.EndpointSlice) {
			if svc := s.GetMetadata().GetLabels()[LabelServiceName]; svc != "" {
				ec.exp.CreationObserved(s.GetMetadata().GetNamespace() + "/" + svc)
				ec.Enqueue(s.GetMetadata().GetNamespace() + "/" + svc)
			}
		},
		OnUpdate: func(_, s *discoveryv1.EndpointSlice) { onSlice(s) }, OnDelete: onSlice})
	ec.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod) { ec.enqueueFor(p) },
		OnUpdate: func(old, p *corev1.Pod) { ec.enqueueFor(old); ec.enqueueFor(p) },
		OnDelete: func(p *corev1.Pod) { ec.enqueueFor(p) },
	})
	return ec
}

func (ec *Controller) enqueueFor(p *corev1.Pod) {
	for _, s := range ec.svcs.Store().ByIndex(informer.IndexNamespace, p.GetMetadata().GetNamespace()) {
		if endpoints.Selects(s, p.GetMetadata().GetLabels()) {
			ec.Enqueue(informer.KeyOf(s))
		}
	}
}

// group is the endpoints that share a set of resolved ports.
type group struct {
	signature string
	ports     []*discoveryv1.EndpointPort
	endpoints []*discoveryv1.Endpoint
}

// Desired computes a Service's endpoint groups from its namespace's pods;
// zoneOf gives a node's zone.
func Desired(svc *corev1.Service, pods []*corev1.Pod, zoneOf func(node string) string) []*group {
	groups := map[string]*group{}
	for _, p := range pods {
		ip := p.GetStatus().GetPodIp()
		if !endpoints.Selects(svc, p.GetMetadata().GetLabels()) || ip == "" || strings.Contains(ip, ":") || endpoints.Finished(p) {
			continue
		}
		var ports []*discoveryv1.EndpointPort
		var sig []string
		for _, sp := range svc.GetSpec().GetPorts() {
			port, ok := endpoints.ResolvePort(sp, p)
			if !ok {
				continue
			}
			proto := endpoints.Protocol(sp)
			ports = append(ports, &discoveryv1.EndpointPort{Name: ptr(sp.GetName()), Protocol: &proto, Port: &port, AppProtocol: sp.AppProtocol})
			sig = append(sig, fmt.Sprintf("%s/%d/%s", sp.GetName(), port, proto))
		}
		if len(ports) == 0 && len(svc.GetSpec().GetPorts()) > 0 {
			continue
		}
		terminating := p.GetMetadata().GetDeletionTimestamp() != nil
		serving := endpoints.PodReady(p)
		ready := serving && !terminating
		if svc.GetSpec().GetPublishNotReadyAddresses() {
			ready = true
		}
		node := p.GetSpec().GetNodeName()
		e := &discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: &discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.GetMetadata().GetNamespace(),
				Name: p.GetMetadata().GetName(), Uid: p.GetMetadata().GetUid()}}
		if h := endpoints.Hostname(svc, p); h != "" {
			e.Hostname = &h
		}
		if node != "" {
			e.NodeName = &node
			if z := zoneOf(node); z != "" {
				e.Zone = &z
			}
		}
		key := strings.Join(sig, ",")
		g, ok := groups[key]
		if !ok {
			g = &group{signature: key, ports: ports}
			groups[key] = g
		}
		g.endpoints = append(g.endpoints, e)
	}
	out := make([]*group, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.endpoints, func(i, j int) bool { return g.endpoints[i].GetAddresses()[0] < g.endpoints[j].GetAddresses()[0] })
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].signature < out[j].signature })
	return out
}

func ptr[T any](v T) *T { return &v }

func signatureOf(s *discoveryv1.EndpointSlice) string {
	sig := make([]string, 0, len(s.GetPorts()))
	for _, p := range s.GetPorts() {
		sig = append(sig, fmt.Sprintf("%s/%d/%s", p.GetName(), p.GetPort(), p.GetProtocol()))
	}
	return strings.Join(sig, ",")
}

func (ec *Controller) zoneOf(node string) string {
	n, ok := ec.nodes.Store().Get(node)
	if !ok {
		return ""
	}
	return n.GetMetadata().GetLabels()["topology.kubernetes.io/zone"]
}

func (ec *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	svc, ok := ec.svcs.Store().Get(key)
	if !ok || !endpoints.Manages(svc) || svc.GetMetadata().GetDeletionTimestamp() != nil {
		ec.traces.Forget(key)
		return 0, nil // the garbage collector removes a deleted Service's slices
	}
	if !ec.exp.Satisfied(key) {
		return 0, controller.ErrRetry // slices we created are not in the cache yet
	}
	ctx = ec.traces.Context(ctx, key, svc.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile endpointslices", trace.WithAttributes(attribute.String("service", key)))
	defer span.End()
	ns := svc.GetMetadata().GetNamespace()

	existing := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range ec.slices.Store().ByIndex(informer.IndexOwner, svc.GetMetadata().GetUid()) {
		if s.GetMetadata().GetLabels()[LabelManagedBy] != ManagedBy {
			continue
		}
		existing[signatureOf(s)] = append(existing[signatureOf(s)], s)
	}
	for _, list := range existing {
		sort.Slice(list, func(i, j int) bool { return list[i].GetMetadata().GetName() < list[j].GetMetadata().GetName() })
	}
	desired := Desired(svc, ec.pods.Store().ByIndex(informer.IndexNamespace, ns), ec.zoneOf)
	if len(desired) == 0 {
		desired = []*group{{signature: "", ports: nil}} // a Service without endpoints keeps one empty slice
	}
	slices := ec.c.DiscoveryV1().EndpointSlices(ns)
	creates := 0
	for _, g := range desired {
		creates += max(0, len(chunk(g.endpoints))-len(existing[g.signature]))
	}
	ec.exp.ExpectCreates(key, creates)
	// Creates that will not happen (an earlier write failed, or the
	// create itself) must not be waited for: that would stall the Service
	// until the expectations expire.
	made := 0
	defer func() {
		for ; made < creates; made++ {
			ec.exp.CreationObserved(key)
		}
	}()
	for _, g := range desired {
		have := existing[g.signature]
		delete(existing, g.signature)
		chunks := chunk(g.endpoints)
		for i, eps := range chunks {
			want := ec.slice(svc, g.ports, eps)
			if i < len(have) {
				cur := have[i]
				if proto.Equal(&discoveryv1.EndpointSlice{Endpoints: cur.GetEndpoints(), Ports: cur.GetPorts()},
					&discoveryv1.EndpointSlice{Endpoints: want.GetEndpoints(), Ports: want.GetPorts()}) &&
					maps.Equal(cur.GetMetadata().GetLabels(), want.GetMetadata().GetLabels()) {
					continue
				}
				updated := proto.Clone(cur).(*discoveryv1.EndpointSlice)
				updated.Endpoints, updated.Ports = want.GetEndpoints(), want.GetPorts()
				updated.Metadata.Labels = want.GetMetadata().GetLabels()
				if _, err := slices.Update(ctx, updated, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
					return 0, fmt.Errorf("update endpointslice %s: %w", informer.KeyOf(cur), err)
				}
				continue
			}
			if _, err := slices.Create(ctx, want, client.WriteOptions{}); err != nil {
				return 0, fmt.Errorf("create an endpointslice for service %s: %w", key, err)
			}
			made++
		}
		for _, extra := range have[min(len(chunks), len(have)):] {
			existing["~"+extra.GetMetadata().GetName()] = []*discoveryv1.EndpointSlice{extra}
		}
	}
	for _, list := range existing {
		for _, s := range list {
			if _, err := slices.Delete(ctx, s.GetMetadata().GetName(), nil); err != nil && !client.IsNotFound(err) {
				return 0, fmt.Errorf("delete endpointslice %s: %w", informer.KeyOf(s), err)
			}
		}
	}
	return 0, nil
}

// chunk splits endpoints into slices of at most MaxEndpoints; no
// endpoints is one empty chunk.
func chunk(eps []*discoveryv1.Endpoint) [][]*discoveryv1.Endpoint {
	if len(eps) == 0 {
		return [][]*discoveryv1.Endpoint{nil}
	}
	var out [][]*discoveryv1.Endpoint
	for len(eps) > 0 {
		n := min(MaxEndpoints, len(eps))
		out = append(out, eps[:n])
		eps = eps[n:]
	}
	return out
}

func (ec *Controller) slice(svc *corev1.Service, ports []*discoveryv1.EndpointPort, eps []*discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	yes := true
	return &discoveryv1.EndpointSlice{
		Metadata: &metav1.ObjectMeta{GenerateName: svc.GetMetadata().GetName() + "-", Namespace: svc.GetMetadata().GetNamespace(),
			Labels: Labels(svc), OwnerReferences: []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Service", Name: svc.GetMetadata().GetName(),
				Uid: svc.GetMetadata().GetUid(), Controller: &yes, BlockOwnerDeletion: &yes}}},
		AddressType: "IPv4", Endpoints: eps, Ports: ports,
	}
}

// Labels are the labels of a Service's slices: the Service's own, the
// service name and manager, and service.kubernetes.io/headless for a
// headless Service.
func Labels(svc *corev1.Service) map[string]string {
	labels := map[string]string{}
	for k, v := range svc.GetMetadata().GetLabels() {
		if k != LabelHeadless {
			labels[k] = v
		}
	}
	labels[LabelServiceName] = svc.GetMetadata().GetName()
	labels[LabelManagedBy] = ManagedBy
	if svc.GetSpec().GetClusterIp() == "None" {
		labels[LabelHeadless] = ""
	}
	return labels
}
