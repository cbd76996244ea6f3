package local

import (
	"context"
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		want    []string // first and last address of each range
		wantErr string
	}{
		{name: "empty", config: ""},
		{name: "cidr skips network and broadcast", config: "loadBalancerPool: [192.168.100.0/29]", want: []string{"192.168.100.1", "192.168.100.6"}},
		{name: "slash 32", config: "loadBalancerPool: [10.0.0.7/32]", want: []string{"10.0.0.7", "10.0.0.7"}},
		{name: "range", config: "loadBalancerPool: ['10.0.0.10-10.0.0.12']", want: []string{"10.0.0.10", "10.0.0.12"}},
		{name: "ipv6", config: "loadBalancerPool: ['fd00::/126']", want: []string{"fd00::", "fd00::3"}},
		{name: "reversed range", config: "loadBalancerPool: ['10.0.0.12-10.0.0.10']", wantErr: "in order"},
		{name: "garbage", config: "loadBalancerPool: [nope]", wantErr: `loadBalancerPool[0] "nope"`},
		{name: "unknown field", config: "pool: [10.0.0.0/24]", wantErr: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, pool, err := ParseConfig([]byte(tt.config))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.InstanceType != "local" {
				t.Errorf("instance type: got %q, want local", cfg.InstanceType)
			}
			var got []string
			for _, r := range pool {
				got = append(got, r.from.String(), r.to.String())
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("pool: got %v, want %v", got, tt.want)
			}
		})
	}
}

func svc(name, lbIP string, status ...string) *corev1.Service {
	s := &corev1.Service{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: &corev1.ServiceSpec{Type: "LoadBalancer", LoadBalancerIp: lbIP}, Status: &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{}}}
	for _, ip := range status {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, &corev1.LoadBalancerIngress{Ip: ip})
	}
	return s
}

func ensure(t *testing.T, p *Provider, s *corev1.Service) string {
	t.Helper()
	st, err := p.EnsureLoadBalancer(context.Background(), "", s, nil)
	if err != nil {
		t.Fatalf("ensure %s: %v", s.GetMetadata().GetName(), err)
	}
	return st.GetIngress()[0].GetIp()
}

func TestAddresses(t *testing.T) {
	ctx := context.Background()
	p, err := New([]byte("loadBalancerPool: ['10.0.0.1-10.0.0.3']"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ensure(t, p, svc("a", "")); got != "10.0.0.1" {
		t.Fatalf("a: got %s, want 10.0.0.1", got)
	}
	if got := ensure(t, p, svc("a", "")); got != "10.0.0.1" {
		t.Fatalf("a again: got %s, want the same 10.0.0.1", got)
	}
	if got := ensure(t, p, svc("b", "", "10.0.0.1")); got != "10.0.0.2" {
		t.Fatalf("b showing a's address: got %s, want 10.0.0.2", got)
	}
	if _, err := p.EnsureLoadBalancer(ctx, "", svc("c", "10.0.0.2"), nil); err == nil || !strings.Contains(err.Error(), "in use by service default/b") {
		t.Fatalf("c asking for b's address: got %v", err)
	}
	if _, err := p.EnsureLoadBalancer(ctx, "", svc("c", "10.9.9.9"), nil); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("c asking outside the pool: got %v", err)
	}
	if got := ensure(t, p, svc("c", "10.0.0.3")); got != "10.0.0.3" {
		t.Fatalf("c: got %s, want the requested 10.0.0.3", got)
	}
	if _, err := p.EnsureLoadBalancer(ctx, "", svc("d", ""), nil); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("d with the pool full: got %v", err)
	}
	if err := p.EnsureLoadBalancerDeleted(ctx, "", svc("b", "")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.GetLoadBalancer(ctx, "", svc("b", "")); ok {
		t.Fatal("b still has a load balancer after deletion")
	}
	if got := ensure(t, p, svc("d", "")); got != "10.0.0.2" {
		t.Fatalf("d after b was deleted: got %s, want the released 10.0.0.2", got)
	}

	// A fresh provider remembers from the statuses it is shown.
	q, _ := New([]byte("loadBalancerPool: ['10.0.0.1-10.0.0.3']"))
	if got := ensure(t, q, svc("d", "", "10.0.0.2")); got != "10.0.0.2" {
		t.Fatalf("d after a restart: got %s, want its 10.0.0.2", got)
	}
	if got := ensure(t, q, svc("e", "")); got != "10.0.0.1" {
		t.Fatalf("e after a restart: got %s, want 10.0.0.1", got)
	}
}

func TestInstanceMetadata(t *testing.T) {
	p, err := New([]byte("zone: z1\nregion: r1\ninstanceType: metal"))
	if err != nil {
		t.Fatal(err)
	}
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"},
		Status: &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.1.1.1"}}}}
	md, err := p.InstanceMetadata(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if md.ProviderID != "local://n1" || md.InstanceType != "metal" || md.Zone != "z1" || md.Region != "r1" ||
		len(md.Addresses) != 1 || md.Addresses[0].GetAddress() != "10.1.1.1" {
		t.Fatalf("got %+v", md)
	}
	n.Metadata.Annotations = map[string]string{ProvidedNodeIPAnnotation: "10.2.2.2"}
	md, _ = p.InstanceMetadata(context.Background(), n)
	if md.Addresses[0].GetAddress() != "10.2.2.2" || md.Addresses[1].GetType() != "Hostname" {
		t.Fatalf("with the provided node IP: got %v", md.Addresses)
	}
	if !p.HasZones() {
		t.Fatal("HasZones false with a zone configured")
	}
}
