// Package model is what the proxy knows of the cluster, reduced to what
// packet rules need: the ports of Services and their endpoints, and the
// node-wide options. The rule backends (nftables, iptables) render it.
package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"time"
)

// Protocol is a Service port's transport protocol, as nft spells it.
type Protocol string

// The protocols a Service port may use.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	SCTP Protocol = "sctp"
)

// ServicePortName identifies one port of one Service; it keys the endpoints.
type ServicePortName struct {
	Namespace string
	Name      string
	PortName  string
	Protocol  Protocol
}

// String is the klog-style "namespace/name/protocol/port" form.
func (n ServicePortName) String() string {
	return n.Namespace + "/" + n.Name + "/" + string(n.Protocol) + "/" + n.PortName
}

// ServicePort is one port of one Service with what the proxy needs of it.
type ServicePort struct {
	ServicePortName
	ClusterIP       string // empty for headless or external-only ports
	Port            int
	NodePort        int // 0 when the Service has none
	LoadBalancerIPs []string
	// ExternalTrafficPolicyLocal sends NodePort and load-balancer traffic to
	// endpoints on this node only, without masquerade.
	ExternalTrafficPolicyLocal bool
	// SessionAffinityTimeout pins a client IP to its endpoint for this long;
	// zero means no session affinity.
	SessionAffinityTimeout time.Duration
}

// Endpoint is one backend of a Service port, as an EndpointSlice reports it.
type Endpoint struct {
	IP          string
	Port        int
	Ready       bool
	Serving     bool
	Terminating bool
	NodeName    string
}

// Options are the node-wide settings the rules depend on.
type Options struct {
	NodeName string
	// NodeIPs are the addresses NodePorts answer on; empty means every local
	// address (fib daddr type local).
	NodeIPs []string
	// ClusterCIDR is the pod network; traffic to a ClusterIP from outside it
	// is masqueraded. Empty disables that masquerade.
	ClusterCIDR string
	// MasqueradeMark is the packet-mark bit that asks postrouting to masquerade.
	MasqueradeMark uint32
}

// dnsName is what Kubernetes allows in namespaces, names and port names, and
// all that may reach a chain name.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// Validate checks the options.
func (o Options) Validate() error {
	if o.MasqueradeMark == 0 {
		return fmt.Errorf("options: MasqueradeMark must be a non-zero bit")
	}
	for _, ip := range o.NodeIPs {
		if err := checkIPv4(ip); err != nil {
			return fmt.Errorf("options: NodeIPs: %w", err)
		}
	}
	if o.ClusterCIDR != "" {
		p, err := netip.ParsePrefix(o.ClusterCIDR)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("options: ClusterCIDR %q is not an IPv4 CIDR", o.ClusterCIDR)
		}
	}
	return nil
}

// Validate checks one Service port.
func (sp ServicePort) Validate() error {
	for _, s := range []string{sp.Namespace, sp.Name} {
		if !dnsName.MatchString(s) {
			return fmt.Errorf("service %s: name %q is not a DNS label", sp, s)
		}
	}
	if sp.PortName != "" && !dnsName.MatchString(sp.PortName) {
		return fmt.Errorf("service %s: port name %q is not a DNS label", sp, sp.PortName)
	}
	switch sp.Protocol {
	case TCP, UDP, SCTP:
	default:
		return fmt.Errorf("service %s: protocol %q is not tcp, udp or sctp", sp, sp.Protocol)
	}
	if err := checkPort(sp.Port); err != nil {
		return fmt.Errorf("service %s: port: %w", sp, err)
	}
	if sp.NodePort != 0 {
		if err := checkPort(sp.NodePort); err != nil {
			return fmt.Errorf("service %s: nodePort: %w", sp, err)
		}
	}
	if sp.ClusterIP != "" {
		if err := checkIPv4(sp.ClusterIP); err != nil {
			return fmt.Errorf("service %s: clusterIP: %w", sp, err)
		}
	}
	for _, ip := range sp.LoadBalancerIPs {
		if err := checkIPv4(ip); err != nil {
			return fmt.Errorf("service %s: load-balancer IP: %w", sp, err)
		}
	}
	if sp.SessionAffinityTimeout < 0 {
		return fmt.Errorf("service %s: negative session affinity timeout", sp)
	}
	return nil
}

// Validate checks one endpoint.
func (ep Endpoint) Validate() error {
	if err := checkIPv4(ep.IP); err != nil {
		return err
	}
	return checkPort(ep.Port)
}

func checkIPv4(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return fmt.Errorf("%q is not an IPv4 address", s)
	}
	return nil
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%d is not in 1-65535", p)
	}
	return nil
}

// State is the whole input of a sync: the Service ports the node serves and
// the endpoints of each.
type State struct {
	Services  []ServicePort
	Endpoints map[ServicePortName][]Endpoint
}

// Sorted validates the state and returns its Service ports in name order,
// refusing duplicates, so renderers produce the same rules for the same state.
func (st State) Sorted() ([]ServicePort, error) {
	sorted := slices.Clone(st.Services)
	slices.SortFunc(sorted, func(a, b ServicePort) int { return cmp.Compare(a.String(), b.String()) })
	for i, sp := range sorted {
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].ServicePortName == sp.ServicePortName {
			return nil, fmt.Errorf("service %s: listed twice", sp)
		}
		for _, ep := range st.Endpoints[sp.ServicePortName] {
			if err := ep.Validate(); err != nil {
				return nil, fmt.Errorf("service %s: endpoint: %w", sp, err)
			}
		}
	}
	return sorted, nil
}
