package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"

	"skiff.dev/images/node/dnsrelay"
)

const (
	// nodeResolvConf is the node's own resolver configuration (Docker's).
	nodeResolvConf = "/etc/resolv.conf"
	// podResolvConf is the resolver configuration the kubelet gives pods
	// (--resolv-conf): the relay on the node's IP, with the node's search
	// paths and options.
	podResolvConf = "/run/skiff-node/resolv.conf"
)

// resolvConf is what a resolv.conf file says.
type resolvConf struct {
	nameservers []string
	search      []string
	options     []string
}

// parseResolvConf reads nameserver, search and options lines; as the C
// library does, the last search line wins and options accumulate.
func parseResolvConf(data string) resolvConf {
	var rc resolvConf
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.nameservers = append(rc.nameservers, f[1])
		case "search", "domain":
			rc.search = append([]string(nil), f[1:]...)
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

// String is the file.
func (rc resolvConf) String() string {
	var b strings.Builder
	for _, ns := range rc.nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(rc.search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(rc.search, " "))
	}
	if len(rc.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(rc.options, " "))
	}
	return b.String()
}

// nodeResolver sets up the pods' way to the node's resolvers: a relay on
// nodeIP:53 to the nameservers of the node's resolv.conf, and the file
// naming it that the kubelet hands to pods.
func nodeResolver(nodeIP netip.Addr, nodeFile, podFile string) (*dnsrelay.Relay, error) {
	data, err := os.ReadFile(nodeFile)
	if err != nil {
		return nil, fmt.Errorf("read the node's resolver configuration: %w", err)
	}
	node := parseResolvConf(string(data))
	var upstreams []string
	for _, ns := range node.nameservers {
		if a, err := netip.ParseAddr(ns); err == nil && a != nodeIP {
			upstreams = append(upstreams, net.JoinHostPort(ns, "53"))
		}
	}
	if len(upstreams) == 0 {
		return nil, fmt.Errorf("%s names no nameserver to relay to", nodeFile)
	}
	relay, err := dnsrelay.New(net.JoinHostPort(nodeIP.String(), "53"), upstreams)
	if err != nil {
		return nil, err
	}
	pod := resolvConf{nameservers: []string{nodeIP.String()}, search: node.search, options: node.options}
	if err := os.MkdirAll(filepath.Dir(podFile), 0o755); err != nil {
		return nil, fmt.Errorf("write the pods' resolver configuration: %w", err)
	}
	if err := os.WriteFile(podFile, []byte(pod.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write the pods' resolver configuration: %w", err)
	}
	return relay, nil
}

// defaultRouteIP is the first IPv4 address of the interface of the
// default route: the node's address on the stack's network.
func defaultRouteIP() (netip.Addr, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" {
			continue
		}
		link, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil || len(addrs) == 0 {
			continue
		}
		if a, ok := netip.AddrFromSlice(addrs[0].IP.To4()); ok {
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("no IPv4 address on the interface of the default route: give --node-ip")
}
