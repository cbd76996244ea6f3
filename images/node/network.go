package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/knftables"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/containerdconf"
	"skiff.dev/pkg/informer"
)

const (
	// routeProtocol marks the routes to other nodes' pods as this
	// program's, so it removes only its own (RTPROT numbers up to 255 are
	// free for daemons; 0x53 is "S").
	routeProtocol = netlink.RouteProtocol(0x53)
	// natTable is the nftables table of the masquerade rule.
	natTable = "skiff-node"
	// resync rechecks routes, addresses and rules this often even when
	// nothing changed, repairing what someone removed.
	resync = 30 * time.Second
)

// runNetwork watches Nodes and Services and keeps the node's CNI
// configuration, pod routes, masquerade rule and LoadBalancer addresses
// in line with them.
func runNetwork(ctx context.Context, o *options) error {
	c, err := client.NewFromKubeconfig(o.proxyKubeconfig())
	if err != nil {
		return err
	}
	defer c.Close()
	nodes := informer.New(informer.FromResource(c.CoreV1().Nodes()), informer.Options[*corev1.Node]{})
	services := informer.New(informer.FromResource(c.CoreV1().Services("")), informer.Options[*corev1.Service]{})
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	nodes.AddHandler(informer.Handler[*corev1.Node]{OnAdd: func(*corev1.Node) { poke() }, OnUpdate: func(_, _ *corev1.Node) { poke() }, OnDelete: func(*corev1.Node) { poke() }})
	services.AddHandler(informer.Handler[*corev1.Service]{OnAdd: func(*corev1.Service) { poke() }, OnUpdate: func(_, _ *corev1.Service) { poke() }, OnDelete: func(*corev1.Service) { poke() }})
	nft, err := knftables.New(knftables.IPv4Family, natTable)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	n := &network{o: o, nft: nft, log: slog.With("component", "network")}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return nodes.Start(gctx) })
	g.Go(func() error { return services.Start(gctx) })
	g.Go(func() error {
		if !nodes.WaitForSync(gctx) || !services.WaitForSync(gctx) {
			return nil
		}
		n.loop(gctx, kick, func() ([]*corev1.Node, []*corev1.Service) {
			return nodes.Store().List(), services.Store().List()
		})
		return nil
	})
	return g.Wait()
}

// loop syncs at once, on every kick, every resync period, and two
// seconds after a failed sync, until ctx ends.
func (n *network) loop(ctx context.Context, kick <-chan struct{}, state func() ([]*corev1.Node, []*corev1.Service)) {
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		var retry <-chan time.Time
		nodes, services := state()
		if err := n.sync(ctx, nodes, services); err != nil {
			n.log.Warn("network sync failed; retrying", "err", err)
			retry = time.After(2 * time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
		case <-retry:
		}
	}
}

type network struct {
	o   *options
	nft knftables.Interface
	log *slog.Logger
}

func (n *network) sync(ctx context.Context, nodes []*corev1.Node, services []*corev1.Service) error {
	var errs []error
	if cidr, ok := ownPodCIDR(nodes, n.o.NodeName); ok {
		if err := n.writeCNI(cidr); err != nil {
			errs = append(errs, err)
		}
		if err := n.masquerade(ctx, cidr); err != nil {
			errs = append(errs, err)
		}
	}
	if err := syncRoutes(podRoutes(nodes, n.o.NodeName)); err != nil {
		errs = append(errs, err)
	}
	if n.o.LBInterface != "" {
		if err := syncAddresses(n.o.LBInterface, loadBalancerIPs(services)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ownPodCIDR is the podCIDR the controller-manager gave the node called name.
func ownPodCIDR(nodes []*corev1.Node, name string) (netip.Prefix, bool) {
	for _, nd := range nodes {
		if nd.GetMetadata().GetName() != name {
			continue
		}
		p, err := netip.ParsePrefix(nd.GetSpec().GetPodCidr())
		return p, err == nil && p.Addr().Is4()
	}
	return netip.Prefix{}, false
}

// podRoutes are the other nodes' podCIDRs, each through the node's
// InternalIP.
func podRoutes(nodes []*corev1.Node, self string) map[netip.Prefix]netip.Addr {
	routes := map[netip.Prefix]netip.Addr{}
	for _, nd := range nodes {
		if nd.GetMetadata().GetName() == self {
			continue
		}
		cidr, err := netip.ParsePrefix(nd.GetSpec().GetPodCidr())
		if err != nil || !cidr.Addr().Is4() {
			continue
		}
		for _, a := range nd.GetStatus().GetAddresses() {
			if ip, err := netip.ParseAddr(a.GetAddress()); err == nil && a.GetType() == "InternalIP" && ip.Is4() {
				routes[cidr.Masked()] = ip
				break
			}
		}
	}
	return routes
}

// loadBalancerIPs are the IPv4 ingress addresses of LoadBalancer Services.
func loadBalancerIPs(services []*corev1.Service) []netip.Addr {
	var ips []netip.Addr
	for _, s := range services {
		if s.GetSpec().GetType() != "LoadBalancer" {
			continue
		}
		for _, in := range s.GetStatus().GetLoadBalancer().GetIngress() {
			if ip, err := netip.ParseAddr(in.GetIp()); err == nil && ip.Is4() && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}

// cniConfig is the bridge network of the node's pods: addresses from
// podCIDR, the bridge cni0 as their gateway.
func cniConfig(podCIDR netip.Prefix, dataDir string) ([]byte, error) {
	return containerdconf.Bridge{Name: "skiff", Bridge: "cni0", Subnet: podCIDR, DataDir: dataDir}.Conflist()
}

// writeCNI writes the CNI configuration for cidr unless the file already
// holds it.
func (n *network) writeCNI(cidr netip.Prefix) error {
	data, err := cniConfig(cidr, n.o.cniDataDir())
	if err != nil {
		return err
	}
	path := filepath.Join(cniConfDir, "10-skiff.conflist")
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, data) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		n.log.Info("wrote the CNI configuration", "podCIDR", cidr)
	}
	return nil
}

// masquerade (re)writes the rule that hides pod addresses behind the
// node's on the way out of the cluster.
func (n *network) masquerade(ctx context.Context, podCIDR netip.Prefix) error {
	tx := n.nft.NewTransaction()
	tx.Add(&knftables.Table{})
	tx.Add(&knftables.Chain{Name: "postrouting", Type: knftables.PtrTo(knftables.NATType),
		Hook: knftables.PtrTo(knftables.PostroutingHook), Priority: knftables.PtrTo(knftables.SNATPriority)})
	tx.Flush(&knftables.Chain{Name: "postrouting"})
	tx.Add(&knftables.Rule{Chain: "postrouting", Rule: knftables.Concat(
		"ip saddr", podCIDR.Masked().String(), "ip daddr !=", n.o.ClusterCIDR, "masquerade")})
	return n.nft.Run(ctx, tx)
}

// syncRoutes makes this program's routes exactly want.
func syncRoutes(want map[netip.Prefix]netip.Addr) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	var errs []error
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		p, _ := netip.AddrFromSlice(r.Dst.IP.To4())
		ones, _ := r.Dst.Mask.Size()
		gw, _ := netip.AddrFromSlice(r.Gw.To4())
		if want[netip.PrefixFrom(p, ones)] != gw {
			if err := netlink.RouteDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("delete route %s: %w", r.Dst, err))
			}
		}
	}
	for dst, gw := range want {
		r := &netlink.Route{
			Dst:      &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)},
			Gw:       gw.AsSlice(),
			Protocol: routeProtocol,
		}
		if err := netlink.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", dst, gw, err))
		}
	}
	return errors.Join(errs...)
}

// syncAddresses makes the /32 addresses of interface name that carry
// this program's label (name:lb) exactly ips; the interface's other
// addresses are left alone.
func syncAddresses(name string, ips []netip.Addr) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	have, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", name, err)
	}
	label := lbLabel(name)
	have = slices.DeleteFunc(have, func(a netlink.Addr) bool { return a.Label != label })
	var errs []error
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		if !slices.Contains(ips, ip) {
			if err := netlink.AddrDel(link, &a); err != nil {
				errs = append(errs, fmt.Errorf("remove %s from %s: %w", ip, name, err))
			}
		}
	}
	for _, ip := range ips {
		if slices.ContainsFunc(have, func(a netlink.Addr) bool { return a.IP.Equal(ip.AsSlice()) }) {
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(32, 32)}, Label: label}
		if err := netlink.AddrAdd(link, addr); err != nil {
			errs = append(errs, fmt.Errorf("add %s to %s: %w", ip, name, err))
		}
	}
	return errors.Join(errs...)
}

// lbLabel is the label of the LoadBalancer addresses on interface name
// (a label must start with the interface's name; at most 15 bytes).
func lbLabel(name string) string {
	l := name + ":lb"
	if len(l) > 15 {
		l = l[:15]
	}
	return l
}
