package model

import (
	"cmp"
	"net/netip"
	"slices"
)

// Usable picks the endpoints that may receive new connections, as Kubernetes
// does: the ready ones, or when none is ready the serving terminating ones.
// The result is sorted by address and free of duplicates.
func Usable(eps []Endpoint) []Endpoint {
	var ready, terminating []Endpoint
	for _, ep := range eps {
		switch {
		case ep.Ready:
			ready = append(ready, ep)
		case ep.Serving && ep.Terminating:
			terminating = append(terminating, ep)
		}
	}
	if len(ready) == 0 {
		ready = terminating
	}
	return SortEndpoints(ready)
}

// OnNode keeps the endpoints on the named node.
func OnNode(eps []Endpoint, node string) []Endpoint {
	var local []Endpoint
	for _, ep := range eps {
		if node != "" && ep.NodeName == node {
			local = append(local, ep)
		}
	}
	return local
}

// Union is a and b merged, sorted and without duplicate addresses.
func Union(a, b []Endpoint) []Endpoint {
	return SortEndpoints(append(slices.Clone(a), b...))
}

// SortEndpoints sorts by address and port and drops duplicates.
func SortEndpoints(eps []Endpoint) []Endpoint {
	eps = slices.Clone(eps)
	slices.SortFunc(eps, compareEndpoints)
	return slices.CompactFunc(eps, func(a, b Endpoint) bool { return compareEndpoints(a, b) == 0 })
}

func compareEndpoints(a, b Endpoint) int {
	if c := cmp.Compare(ipKey(a.IP), ipKey(b.IP)); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// ipKey orders addresses numerically; they were validated as IPv4.
func ipKey(s string) uint32 {
	a, _ := netip.ParseAddr(s)
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
