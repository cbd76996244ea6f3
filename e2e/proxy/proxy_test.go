package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

const waitRules = 30 * time.Second

// TestProxy runs the same checks against each mode.
func TestProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	for _, mode := range []string{"nftables", "iptables"} {
		t.Run(mode, func(t *testing.T) { testMode(t, mode) })
	}
}

func testMode(t *testing.T, mode string) {
	c := newCluster(t, mode)
	ctx := context.Background()

	// The cloud-controller's local provider gives LoadBalancer Services
	// addresses from its pool; the external host routes the pool to the node.
	pool := t.TempDir() + "/cloud.yaml"
	if err := os.WriteFile(pool, []byte("loadBalancerPool: ['203.0.113.10-203.0.113.20']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	framework.StartCloudController(t, c.srv, "--cloud-config", pool, "--leader-elect=false")
	web := c.service("web", corev1.ServiceTypeLoadBalancer, nil)
	c.endpoints("web", backendIPs, nil)
	var lbIP string
	framework.Eventually(t, waitRules, "web gets a load-balancer address", func() error {
		got, err := c.cs.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ing := got.Status.LoadBalancer.Ingress; len(ing) == 1 && strings.HasPrefix(ing[0].IP, "203.0.113.") {
			lbIP = ing[0].IP
			return nil
		}
		return fmt.Errorf("got status %+v", got.Status.LoadBalancer)
	})
	empty := c.service("empty", corev1.ServiceTypeClusterIP, nil)
	sticky := c.service("sticky", corev1.ServiceTypeClusterIP, func(s *corev1.Service) {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	})
	c.endpoints("sticky", backendIPs, nil)
	self := c.service("self", corev1.ServiceTypeClusterIP, nil)
	c.endpoints("self", backendIPs[:1], nil)

	webAddr := addr(web.Spec.ClusterIP, 80)
	t.Run("ClusterIP spreads over every ready endpoint", func(t *testing.T) {
		waitSpread(t, c.client, clientIP, webAddr, backendIPs)
	})
	t.Run("NodePort answers on the node address", func(t *testing.T) {
		waitSpread(t, c.external, externalIP, addr(nodeIP, int(web.Spec.Ports[0].NodePort)), backendIPs)
	})
	t.Run("load-balancer address from the pool answers", func(t *testing.T) {
		waitSpread(t, c.external, externalIP, addr(lbIP, 80), backendIPs)
	})
	t.Run("no endpoints rejects at once", func(t *testing.T) {
		framework.Eventually(t, waitRules, "connection refused by the Service without endpoints", func() error {
			_, err := dial(c.client, clientIP, addr(empty.Spec.ClusterIP, 80))
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("got %v, want connection refused", err)
			}
			return nil
		})
	})
	t.Run("session affinity pins a client", func(t *testing.T) {
		framework.Eventually(t, waitRules, "one backend for every connection", func() error {
			seen, err := spread(c.client, clientIP, addr(sticky.Spec.ClusterIP, 80), 20)
			if err != nil || len(seen) != 1 {
				return fmt.Errorf("got answers %v (err %v), want one backend", seen, err)
			}
			return nil
		})
	})
	t.Run("an endpoint reaches itself through its Service", func(t *testing.T) {
		framework.Eventually(t, waitRules, "hairpin connection", func() error {
			name, err := dial(c.backends, backendIPs[0], addr(self.Spec.ClusterIP, 80))
			if err != nil || name != backendIPs[0] {
				return fmt.Errorf("got %q, %v; want %s answering itself", name, err, backendIPs[0])
			}
			return nil
		})
	})
	t.Run("an unready endpoint stops receiving", func(t *testing.T) {
		c.endpoints("web", backendIPs, map[string]bool{backendIPs[2]: false})
		waitSpread(t, c.client, clientIP, webAddr, backendIPs[:2])
	})
	t.Run("the sync joins the trace of the write", func(t *testing.T) {
		// A client whose requests carry a W3C trace context: the apiserver
		// stores it on the EndpointSlice, and the proxy's sync that
		// programs the change is a span of that trace.
		const traceID = "5c1ff0000000000000000000000c0ffe"
		cfg := c.srv.RESTConfig()
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
				return rt.RoundTrip(r)
			})
		}
		traced, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tc := *c
		tc.cs = traced
		tc.endpoints("self", backendIPs[:2], map[string]bool{backendIPs[1]: false})
		framework.Eventually(t, waitRules, "a proxy span in trace "+traceID, func() error {
			for _, s := range c.traces.Spans(traceID) {
				if s.Service == "proxy" && s.Name == "proxy.SyncRules" {
					return nil
				}
			}
			return fmt.Errorf("spans so far: %v", c.traces.Spans(traceID))
		})
	})
	t.Run("health and metrics", func(t *testing.T) {
		framework.Eventually(t, waitRules, "/healthz says ok", func() error {
			code, body, err := c.get(healthzAddr, "/healthz")
			if err != nil || code != 200 {
				return fmt.Errorf("got %d %q, %v", code, body, err)
			}
			return nil
		})
		code, metrics, err := c.metrics()
		if err != nil || code != 200 {
			t.Fatalf("GET /metrics: %d %v", code, err)
		}
		if code, body, err := c.fetch("https", metricsAddr, "/metrics", ""); err != nil || code != 403 {
			t.Errorf("GET /metrics without credentials: %d %s %v", code, body, err)
		}
		for _, want := range []string{
			`kubeproxy_sync_proxy_rules_duration_seconds_count{kind="partial",mode="` + mode + `"}`,
			`kubeproxy_sync_proxy_rules_last_timestamp_seconds{mode="` + mode + `"}`,
			`kubeproxy_network_programming_duration_seconds_count{mode="` + mode + `"}`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if rules := metricValue(metrics, "kubeproxy_sync_proxy_rules_rules"); rules < 10 {
			t.Errorf("got kubeproxy_sync_proxy_rules_rules %v, want the rules of four Services", rules)
		}
	})
	t.Run("one port number over TCP and UDP", func(t *testing.T) {
		for _, ip := range backendIPs {
			serveUDP(t, c.backends, fmt.Sprintf("%s:%d", ip, backendPort), ip)
		}
		dns := c.service("dns", corev1.ServiceTypeNodePort, func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{
				{Name: "dns", Port: 53, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", Port: 53, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolTCP},
			}
		})
		c.endpoints("dns", backendIPs, nil, discoveryv1.EndpointPort{Name: ptr("dns"), Port: ptr(int32(backendPort)), Protocol: ptr(corev1.ProtocolUDP)},
			discoveryv1.EndpointPort{Name: ptr("dns-tcp"), Port: ptr(int32(backendPort)), Protocol: ptr(corev1.ProtocolTCP)})
		clusterAddr := addr(dns.Spec.ClusterIP, 53)
		waitSpread(t, c.client, clientIP, clusterAddr, backendIPs)
		waitSpreadUDP(t, c.client, clientIP, clusterAddr, backendIPs)
		for _, p := range dns.Spec.Ports {
			nodePort := addr(nodeIP, int(p.NodePort))
			if p.Protocol == corev1.ProtocolUDP {
				waitSpreadUDP(t, c.external, externalIP, nodePort, backendIPs)
			} else {
				waitSpread(t, c.external, externalIP, nodePort, backendIPs)
			}
		}
		// As the conformance spec "should serve endpoints on same port and
		// different protocols" goes on: one protocol at a time (the
		// EndpointSlice following, as the controller writes it), the
		// other stops answering to new connections from the pod.
		for _, keep := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
			svc, err := c.cs.CoreV1().Services("default").Get(ctx, "dns", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			svc.Spec.Ports = slices.DeleteFunc(slices.Clone(dns.Spec.Ports), func(p corev1.ServicePort) bool { return p.Protocol != keep })
			if _, err := c.cs.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			c.endpoints("dns", backendIPs, nil, discoveryv1.EndpointPort{Name: ptr(svc.Spec.Ports[0].Name), Port: ptr(int32(backendPort)), Protocol: ptr(keep)})
			kept, removed := func() (string, error) { return dial(c.client, clientIP, clusterAddr) },
				func() (string, error) { return dialUDP(c.client, clientIP, clusterAddr) }
			if keep == corev1.ProtocolUDP {
				kept, removed = removed, kept
			}
			framework.Eventually(t, waitRules, "only "+string(keep)+" answers", func() error {
				if name, err := kept(); err != nil || !slices.Contains(backendIPs, name) {
					return fmt.Errorf("%s: got %q, %v; want a backend's answer", keep, name, err)
				}
				return removedPort(mode, removed)
			})
		}
	})
	t.Run("restart keeps established traffic and converges", func(t *testing.T) {
		held, first, err := connect(c.client, clientIP, webAddr)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer held.Close()
		c.proxy.Kill()
		// Changes while the proxy is down: a new Service, and web loses
		// an endpoint.
		later := c.service("later", corev1.ServiceTypeClusterIP, nil)
		c.endpoints("later", backendIPs[1:2], nil)
		c.endpoints("web", backendIPs[:1], nil)
		if name, err := dial(c.client, clientIP, webAddr); err != nil {
			t.Errorf("new connection while the proxy is down: %v (the rules should stay)", err)
		} else {
			t.Logf("while down, web answered from %s", name)
		}
		c.startProxy()
		waitSpread(t, c.client, clientIP, addr(later.Spec.ClusterIP, 80), backendIPs[1:2])
		waitSpread(t, c.client, clientIP, webAddr, backendIPs[:1])
		reply, err := held.echo("still there?")
		if want := first + ": still there?"; err != nil || reply != want {
			t.Errorf("established connection after the restart: got %q, %v; want %q", reply, err, want)
		}
	})
	t.Run("cleanup removes every rule", func(t *testing.T) {
		c.proxy.Stop()
		out, err := c.node.Try(framework.Binary(t, "proxy"), "--cleanup")
		if err != nil {
			t.Fatalf("proxy --cleanup: %v\n%s", err, out)
		}
		if out, err := c.node.Try("nft", "list", "tables"); err == nil && strings.Contains(out, "skiff") {
			t.Errorf("nft tables after cleanup:\n%s", out)
		}
		for _, table := range []string{"nat", "filter"} {
			if out, err := c.node.Try("iptables-save", "-t", table); err == nil && strings.Contains(out, "SKIFF") {
				t.Errorf("iptables %s table after cleanup:\n%s", table, out)
			}
		}
	})
}

// removedPort checks a new connection to a ClusterIP's port that no Service
// serves any more. nftables mode refuses it on the node, as kube-proxy's
// cluster-ips check does; iptables mode, like kube-proxy's, routes it on as
// any other address, so the network beyond may answer, but no backend.
func removedPort(mode string, dial func() (string, error)) error {
	name, err := dial()
	switch {
	case slices.Contains(backendIPs, name):
		return fmt.Errorf("the port removed still reaches backend %s", name)
	case mode == "nftables" && !errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("the port removed: got %q, %v; want the node to refuse it", name, err)
	}
	return nil
}

// service creates a Service with one TCP port, 80 to the backends' port.
func (c *cluster) service(name string, typ corev1.ServiceType, mutate func(*corev1.Service)) *corev1.Service {
	c.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:  typ,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(backendPort), Protocol: corev1.ProtocolTCP}},
		},
	}
	if mutate != nil {
		mutate(svc)
	}
	got, err := c.cs.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("create service %s: %v", name, err)
	}
	return got
}

// endpoints creates or replaces the Service's one EndpointSlice; ready
// overrides the readiness of some addresses (others are ready). The slice's
// ports are ports, or the backends' http port.
func (c *cluster) endpoints(service string, ips []string, ready map[string]bool, ports ...discoveryv1.EndpointPort) {
	c.t.Helper()
	if len(ports) == 0 {
		ports = []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(backendPort)), Protocol: ptr(corev1.ProtocolTCP)}}
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: service + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
	}
	for _, ip := range ips {
		r, ok := ready[ip]
		if !ok {
			r = true
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(r), Serving: ptr(r), Terminating: ptr(false)},
			NodeName:   ptr(nodeName),
		})
	}
	slices := c.cs.DiscoveryV1().EndpointSlices("default")
	ctx := context.Background()
	old, err := slices.Get(ctx, slice.Name, metav1.GetOptions{})
	if err == nil {
		slice.ResourceVersion = old.ResourceVersion
		_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
	} else {
		_, err = slices.Create(ctx, slice, metav1.CreateOptions{})
	}
	if err != nil {
		c.t.Fatalf("write EndpointSlice of %s: %v", service, err)
	}
}

// waitSpread waits until 30 connections in a row all succeed and are
// answered by exactly the wanted backends.
func waitSpread(t testing.TB, ns *framework.Netns, src, to string, want []string) {
	t.Helper()
	framework.Eventually(t, waitRules, "connections to "+to+" spread over "+strings.Join(want, ", "), func() error {
		seen, err := spread(ns, src, to, 30)
		if err != nil {
			return err
		}
		if len(seen) != len(want) {
			return fmt.Errorf("got answers %v", seen)
		}
		for _, w := range want {
			if seen[w] == 0 {
				return fmt.Errorf("got answers %v", seen)
			}
		}
		return nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func addr(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

func ptr[T any](v T) *T { return &v }

// metricValue is the value of an unlabelled-but-constant series, or -1.
func metricValue(text, name string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
