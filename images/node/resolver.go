package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"

	"skiff.dev/images/node/dnsrelay"
	"skiff.dev/pkg/resolvconf"
)

const (
	// nodeResolvConf is the node's own resolver configuration (Docker's).
	nodeResolvConf = "/etc/resolv.conf"
	// podResolvConf is the resolver configuration the kubelet gives pods
	// (--resolv-conf): the relay on the node's IP, with the node's search
	// paths and options.
	podResolvConf = "/run/skiff-node/resolv.conf"
)

// nodeResolver sets up the pods' way to the node's resolvers: a relay on
// nodeIP:53 to the nameservers of the node's resolv.conf, and the file
// naming it that the kubelet hands to pods.
func nodeResolver(nodeIP netip.Addr, nodeFile, podFile string) (*dnsrelay.Relay, error) {
	node, err := readResolvConf(nodeFile)
	if err != nil {
		return nil, fmt.Errorf("read the node's resolver configuration: %w", err)
	}
	var upstreams []string
	for _, ns := range node.Nameservers {
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
	pod := resolvconf.Config{Nameservers: []string{nodeIP.String()}, Searches: node.Searches, Options: node.Options}
	if err := os.MkdirAll(filepath.Dir(podFile), 0o755); err != nil {
		return nil, fmt.Errorf("write the pods' resolver configuration: %w", err)
	}
	if err := os.WriteFile(podFile, []byte(pod.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write the pods' resolver configuration: %w", err)
	}
	return relay, nil
}

// readResolvConf parses the resolv.conf at path.
func readResolvConf(path string) (resolvconf.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return resolvconf.Config{}, err
	}
	defer f.Close()
	rc, err := resolvconf.Parse(f)
	if err != nil {
		return resolvconf.Config{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return rc, nil
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
