package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// mirroredSlices lists the EndpointSlices labelled with a Service's name,
// as "address:port" per slice, with the slice's managed-by label.
func (e *env) mirroredSlices(service string) ([]string, error) {
	list, err := e.c.DiscoveryV1().EndpointSlices("default").List(e.ctx, client.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list.GetItems() {
		var eps, ports []string
		for _, ep := range s.GetEndpoints() {
			eps = append(eps, strings.Join(ep.GetAddresses(), ","))
		}
		for _, p := range s.GetPorts() {
			ports = append(ports, fmt.Sprintf("%d/%s", p.GetPort(), p.GetProtocol()))
		}
		out = append(out, fmt.Sprintf("%s %s by %s", strings.Join(eps, " "), strings.Join(ports, " "),
			s.GetMetadata().GetLabels()["endpointslice.kubernetes.io/managed-by"]))
	}
	return out, nil
}

func (e *env) waitSlices(t *testing.T, service string, want ...string) {
	t.Helper()
	framework.Eventually(t, 15*time.Second, fmt.Sprintf("slices of %s: %q", service, want), func() error {
		got, err := e.mirroredSlices(service)
		if err != nil {
			return err
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
}

// TestCustomEndpointsAreMirrored follows the upstream conformance spec
// "EndpointSliceMirroring should mirror a custom Endpoints resource through
// create update and delete", then the cases that must not be mirrored.
func TestCustomEndpointsAreMirrored(t *testing.T) {
	e := setup(t)
	services, eps := e.c.CoreV1().Services("default"), e.c.CoreV1().Endpoints("default")
	custom := func(name, ip string, labels map[string]string) *corev1.Endpoints {
		return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
			Subsets: []*corev1.EndpointSubset{{Addresses: []*corev1.EndpointAddress{{Ip: ip}}, Ports: []*corev1.EndpointPort{{Port: 80}}}}}
	}
	if _, err := services.Create(e.ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "example-custom-endpoints", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Name: "example", Port: 80, Protocol: "TCP"}}}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ep, err := eps.Create(e.ctx, custom("example-custom-endpoints", "10.1.2.3", map[string]string{"team": "a"}), client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const by = "by endpointslicemirroring-controller.k8s.io"
	e.waitSlices(t, "example-custom-endpoints", "10.1.2.3 80/TCP "+by)
	list, err := e.c.DiscoveryV1().EndpointSlices("default").List(e.ctx, client.ListOptions{LabelSelector: "kubernetes.io/service-name=example-custom-endpoints"})
	if err != nil {
		t.Fatal(err)
	}
	s := list.GetItems()[0]
	if refs := s.GetMetadata().GetOwnerReferences(); len(refs) != 1 || refs[0].GetKind() != "Endpoints" || refs[0].GetUid() != ep.GetMetadata().GetUid() {
		t.Errorf("owner references %v, want the Endpoints", refs)
	}
	if got := s.GetMetadata().GetLabels()["team"]; got != "a" {
		t.Errorf("label team=%q, want the Endpoints' a", got)
	}

	ep.Subsets[0].Addresses = []*corev1.EndpointAddress{{Ip: "10.2.3.4"}}
	if _, err := eps.Update(e.ctx, ep, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitSlices(t, "example-custom-endpoints", "10.2.3.4 80/TCP "+by)

	if _, err := eps.Delete(e.ctx, "example-custom-endpoints", nil); err != nil {
		t.Fatal(err)
	}
	e.waitSlices(t, "example-custom-endpoints")

	t.Run("skip-mirror", func(t *testing.T) {
		if _, err := services.Create(e.ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "skipped", Namespace: "default"},
			Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		ep, err := eps.Create(e.ctx, custom("skipped", "10.1.2.3", nil), client.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.waitSlices(t, "skipped", "10.1.2.3 80/TCP "+by)
		ep.Metadata.Labels = map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}
		if _, err := eps.Update(e.ctx, ep, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitSlices(t, "skipped")
	})
	t.Run("the Service goes", func(t *testing.T) {
		if _, err := services.Create(e.ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "going", Namespace: "default"},
			Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eps.Create(e.ctx, custom("going", "10.1.2.3", nil), client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitSlices(t, "going", "10.1.2.3 80/TCP "+by)
		if _, err := services.Delete(e.ctx, "going", nil); err != nil {
			t.Fatal(err)
		}
		e.waitSlices(t, "going")
	})
	t.Run("a Service with a selector", func(t *testing.T) {
		// Its Endpoints belong to the endpoints controller; the only
		// slice is the endpointslice controller's, empty (no pod matches).
		if _, err := services.Create(e.ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "selected", Namespace: "default"},
			Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "none"}, Ports: []*corev1.ServicePort{{Port: 80}}}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eps.Create(e.ctx, custom("selected", "10.1.2.3", nil), client.WriteOptions{}); err != nil && !client.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		e.waitSlices(t, "selected", "  by endpointslice-controller.k8s.io")
	})
}
