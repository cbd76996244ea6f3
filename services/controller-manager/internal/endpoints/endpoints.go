// Package endpoints keeps each Service's Endpoints object: the addresses
// of the pods its selector matches, ready ones under addresses and the
// others under notReadyAddresses, with the Service's ports resolved for
// each pod (a named targetPort is looked up in the pod's containers), pods
// with the same resolved ports grouped into one subset. A pod whose
// spec.subdomain names the Service carries its spec.hostname, which the
// cluster DNS serves; ExternalName Services and Services without a
// selector get no Endpoints from it.
package endpoints

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
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "endpoints"

// Controller is the Endpoints controller; its keys are Services.
type Controller struct {
	*controller.Controller
	c    *client.Client
	svcs *informer.Informer[*corev1.Service]
	eps  *informer.Informer[*corev1.Endpoints]
	pods *informer.Informer[*corev1.Pod]
	// traces joins a reconcile to the Service's trace only for the
	// first reconcile after each write of the Service; the reconciles its
	// pods set off later are not part of that write.
	traces telemetry.Continuer
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/endpoints")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	ec := &Controller{c: c, svcs: f.Services(), eps: f.Endpoints(), pods: f.Pods()}
	ec.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(ec.reconcile),
		Keys: func() []string {
			var out []string
			for _, s := range ec.svcs.Store().List() {
				out = append(out, informer.KeyOf(s))
			}
			return out
		}}
	enqueue := func(s *corev1.Service) { ec.Enqueue(informer.KeyOf(s)) }
	ec.svcs.AddHandler(informer.Handler[*corev1.Service]{OnAdd: enqueue, OnUpdate: func(_, s *corev1.Service) { enqueue(s) }, OnDelete: enqueue})
	ec.eps.AddHandler(informer.Handler[*corev1.Endpoints]{OnDelete: func(e *corev1.Endpoints) { ec.Enqueue(informer.KeyOf(e)) }})
	ec.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod) { ec.enqueueFor(p) },
		OnUpdate: func(old, p *corev1.Pod) { ec.enqueueFor(old); ec.enqueueFor(p) },
		OnDelete: func(p *corev1.Pod) { ec.enqueueFor(p) },
	})
	return ec
}

// Manages reports whether the controllers keep a Service's endpoints:
// those of a Service without a selector are the user's, and an
// ExternalName Service has none (its name is an alias in the cluster DNS).
func Manages(s *corev1.Service) bool {
	return len(s.GetSpec().GetSelector()) > 0 && s.GetSpec().GetType() != "ExternalName"
}

// Hostname is the hostname a pod's endpoint carries for a Service: the
// pod's spec.hostname when its spec.subdomain names the Service in its own
// namespace (the cluster DNS then answers HOSTNAME.SERVICE.NS.svc.DOMAIN
// with the pod's address), "" otherwise.
func Hostname(s *corev1.Service, p *corev1.Pod) string {
	if p.GetSpec().GetSubdomain() != s.GetMetadata().GetName() || p.GetMetadata().GetNamespace() != s.GetMetadata().GetNamespace() {
		return ""
	}
	return p.GetSpec().GetHostname()
}

// Finished reports whether a pod has ended (Succeeded or Failed): it is
// no Service's endpoint any more.
func Finished(p *corev1.Pod) bool {
	phase := p.GetStatus().GetPhase()
	return phase == "Succeeded" || phase == "Failed"
}

// included reports whether a pod with an address is one of a Service's
// Endpoints: not once it has finished, nor while it terminates unless the
// Service publishes addresses that are not ready. (EndpointSlices keep
// terminating pods, with their conditions.)
func included(s *corev1.Service, p *corev1.Pod) bool {
	return !Finished(p) && (p.GetMetadata().GetDeletionTimestamp() == nil || s.GetSpec().GetPublishNotReadyAddresses())
}

// Selects reports whether a Service's selector (matchLabels semantics)
// picks a pod; a Service without a selector picks none.
func Selects(s *corev1.Service, labels map[string]string) bool {
	sel := s.GetSpec().GetSelector()
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (ec *Controller) enqueueFor(p *corev1.Pod) {
	for _, s := range ec.svcs.Store().ByIndex(informer.IndexNamespace, p.GetMetadata().GetNamespace()) {
		if Selects(s, p.GetMetadata().GetLabels()) {
			ec.Enqueue(informer.KeyOf(s))
		}
	}
}

func (ec *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	ns, name, _ := strings.Cut(key, "/")
	svc, ok := ec.svcs.Store().Get(key)
	if !ok {
		ec.traces.Forget(key)
		_, err := ec.c.CoreV1().Endpoints(ns).Delete(ctx, name, nil)
		if err != nil && !client.IsNotFound(err) {
			return 0, fmt.Errorf("delete the endpoints of deleted service %s: %w", key, err)
		}
		return 0, nil
	}
	if !Manages(svc) {
		return 0, nil // endpoints of a service without selector are the user's
	}
	ctx = ec.traces.Context(ctx, key, svc.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile endpoints", trace.WithAttributes(attribute.String("service", key)))
	defer span.End()

	want := &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, Labels: endpointsLabels(svc)},
		Subsets: Subsets(svc, ec.pods.Store().ByIndex(informer.IndexNamespace, ns))}
	cur, exists := ec.eps.Store().Get(key)
	if !exists {
		_, err := ec.c.CoreV1().Endpoints(ns).Create(ctx, want, client.WriteOptions{})
		if client.IsAlreadyExists(err) {
			return 0, controller.ErrRetry // the cache has not seen it yet
		}
		if err != nil {
			return 0, fmt.Errorf("create endpoints %s: %w", key, err)
		}
		return 0, nil
	}
	if proto.Equal(&corev1.Endpoints{Subsets: cur.GetSubsets()}, &corev1.Endpoints{Subsets: want.GetSubsets()}) &&
		maps.Equal(cur.GetMetadata().GetLabels(), want.GetMetadata().GetLabels()) {
		return 0, nil
	}
	updated := proto.Clone(cur).(*corev1.Endpoints)
	updated.Subsets = want.GetSubsets()
	updated.Metadata.Labels = want.GetMetadata().GetLabels()
	if _, err := ec.c.CoreV1().Endpoints(ns).Update(ctx, updated, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("update endpoints %s: %w", key, err)
	}
	return 0, nil
}

func endpointsLabels(svc *corev1.Service) map[string]string {
	out := maps.Clone(svc.GetMetadata().GetLabels())
	if svc.GetSpec().GetClusterIp() == "None" {
		if out == nil {
			out = map[string]string{}
		}
		out["service.kubernetes.io/headless"] = ""
	}
	return out
}

// PodReady reports the pod's Ready condition.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

// ResolvePort finds the pod's port for a Service port: a number is used
// as it is, a name is looked up among the containers' ports.
func ResolvePort(sp *corev1.ServicePort, p *corev1.Pod) (int32, bool) {
	tp := sp.GetTargetPort()
	switch {
	case tp == nil:
		return sp.GetPort(), true
	case tp.GetType() == 0 && tp.GetIntVal() != 0:
		return tp.GetIntVal(), true
	case tp.GetType() == 0:
		return sp.GetPort(), true
	}
	for _, c := range p.GetSpec().GetContainers() {
		for _, cp := range c.GetPorts() {
			prot := cp.GetProtocol()
			if prot == "" {
				prot = "TCP"
			}
			if cp.GetName() == tp.GetStrVal() && prot == Protocol(sp) {
				return cp.GetContainerPort(), true
			}
		}
	}
	return 0, false
}

// Protocol is a Service port's protocol, TCP when unset.
func Protocol(sp *corev1.ServicePort) string {
	if sp.GetProtocol() == "" {
		return "TCP"
	}
	return sp.GetProtocol()
}

// Subsets computes a Service's endpoints from the pods of its namespace.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []*corev1.EndpointSubset {
	type group struct {
		ports           []*corev1.EndpointPort
		ready, notReady []*corev1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, p := range pods {
		if !Selects(svc, p.GetMetadata().GetLabels()) || p.GetStatus().GetPodIp() == "" || !included(svc, p) {
			continue
		}
		var ports []*corev1.EndpointPort
		var sig []string
		for _, sp := range svc.GetSpec().GetPorts() {
			port, ok := ResolvePort(sp, p)
			if !ok {
				continue
			}
			ports = append(ports, &corev1.EndpointPort{Name: sp.GetName(), Port: port, Protocol: Protocol(sp), AppProtocol: sp.AppProtocol})
			sig = append(sig, fmt.Sprintf("%s/%d/%s", sp.GetName(), port, Protocol(sp)))
		}
		if len(ports) == 0 && len(svc.GetSpec().GetPorts()) > 0 {
			continue
		}
		node := p.GetSpec().GetNodeName()
		addr := &corev1.EndpointAddress{Ip: p.GetStatus().GetPodIp(), Hostname: Hostname(svc, p), NodeName: &node,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.GetMetadata().GetNamespace(),
				Name: p.GetMetadata().GetName(), Uid: p.GetMetadata().GetUid()}}
		if node == "" {
			addr.NodeName = nil
		}
		key := strings.Join(sig, ",")
		g, ok := groups[key]
		if !ok {
			g = &group{ports: ports}
			groups[key] = g
		}
		if PodReady(p) || svc.GetSpec().GetPublishNotReadyAddresses() {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	byIP := func(a []*corev1.EndpointAddress) {
		sort.Slice(a, func(i, j int) bool { return a[i].GetIp() < a[j].GetIp() })
	}
	var out []*corev1.EndpointSubset
	for _, k := range keys {
		g := groups[k]
		byIP(g.ready)
		byIP(g.notReady)
		out = append(out, &corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return out
}
