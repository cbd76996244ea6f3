// Package conntrack clears the kernel's connection-tracking entries that
// would keep UDP traffic away from a Service's backends, as kube-proxy
// does. UDP has no connection to end: the kernel keeps mapping a client's
// datagrams the way it mapped the first one. So a client that sent to a
// Service while it had no endpoints (the rules rejected it) keeps being
// rejected after endpoints appear, and one whose endpoint went away keeps
// sending to it. After each sync the proxy removes those entries.
package conntrack

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"skiff.dev/services/proxy/internal/model"
)

// Flow selects conntrack entries of one protocol: those whose original
// destination is Dst (any address when empty) and DstPort, and whose reply
// came from ReplySrc (any when empty).
type Flow struct {
	Protocol model.Protocol
	Dst      string
	DstPort  int
	ReplySrc string
}

func (f Flow) String() string {
	return fmt.Sprintf("%s to %s:%d from %s", f.Protocol, orAny(f.Dst), f.DstPort, orAny(f.ReplySrc))
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// Stale lists the flows to clear once the rules moved from prev to next:
// every address of a UDP Service port that had no usable endpoint (or no
// rules at all: datagrams sent before the proxy knew the Service were
// routed as they were, and stay so) and now has one, and the flows a UDP
// Service port's address sent to an endpoint it no longer uses.
func Stale(prev, next model.State) []Flow {
	var out []Flow
	for _, sp := range next.Services {
		if sp.Protocol != model.UDP {
			continue
		}
		was, now := model.Usable(prev.Endpoints[sp.ServicePortName]), model.Usable(next.Endpoints[sp.ServicePortName])
		if len(was) == 0 && len(now) > 0 {
			out = append(out, addresses(sp)...)
		}
		for _, gone := range removed(was, now) {
			for _, f := range addresses(sp) {
				f.ReplySrc = gone
				out = append(out, f)
			}
		}
	}
	return out
}

// addresses are the flows to every address a Service port answers on.
func addresses(sp model.ServicePort) []Flow {
	var out []Flow
	if sp.ClusterIP != "" {
		out = append(out, Flow{Protocol: sp.Protocol, Dst: sp.ClusterIP, DstPort: sp.Port})
	}
	for _, ip := range sp.LoadBalancerIPs {
		out = append(out, Flow{Protocol: sp.Protocol, Dst: ip, DstPort: sp.Port})
	}
	if sp.NodePort != 0 {
		out = append(out, Flow{Protocol: sp.Protocol, DstPort: sp.NodePort})
	}
	return out
}

// removed are the addresses in was that now lacks.
func removed(was, now []model.Endpoint) []string {
	keep := map[string]bool{}
	for _, ep := range now {
		keep[ep.IP] = true
	}
	var out []string
	for _, ep := range was {
		if !keep[ep.IP] {
			out = append(out, ep.IP)
		}
	}
	return out
}

// Clear deletes the entries the flows select from the kernel's table in
// the proxy's network namespace, and returns how many went.
func Clear(flows []Flow) (uint, error) {
	if len(flows) == 0 {
		return 0, nil
	}
	filters := make([]netlink.CustomConntrackFilter, 0, len(flows))
	for _, f := range flows {
		cf, err := filter(f)
		if err != nil {
			return 0, err
		}
		filters = append(filters, cf)
	}
	n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...)
	if err != nil {
		return n, fmt.Errorf("clear conntrack entries: %w", err)
	}
	return n, nil
}

func filter(f Flow) (*netlink.ConntrackFilter, error) {
	cf := &netlink.ConntrackFilter{}
	proto := map[model.Protocol]uint8{model.TCP: unix.IPPROTO_TCP, model.UDP: unix.IPPROTO_UDP, model.SCTP: unix.IPPROTO_SCTP}[f.Protocol]
	if err := cf.AddProtocol(proto); err != nil {
		return nil, err
	}
	if err := cf.AddPort(netlink.ConntrackOrigDstPort, uint16(f.DstPort)); err != nil {
		return nil, err
	}
	for _, ip := range []struct {
		typ netlink.ConntrackFilterType
		ip  string
	}{{netlink.ConntrackOrigDstIP, f.Dst}, {netlink.ConntrackReplySrcIP, f.ReplySrc}} {
		if ip.ip == "" {
			continue
		}
		if err := cf.AddIP(ip.typ, net.ParseIP(ip.ip)); err != nil {
			return nil, err
		}
	}
	return cf, nil
}
