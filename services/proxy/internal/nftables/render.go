package nftables

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Render returns the nft script (for `nft -f -`) that atomically replaces the
// proxy's table with one serving the given Service ports and endpoints on
// this node. Output is deterministic: the same state gives the same text.
func Render(opts Options, services []ServicePort, endpoints map[ServicePortName][]Endpoint) (string, error) {
	if err := opts.validate(); err != nil {
		return "", err
	}
	sorted := slices.Clone(services)
	slices.SortFunc(sorted, func(a, b ServicePort) int { return cmp.Compare(a.String(), b.String()) })
	for i, sp := range sorted {
		if err := sp.validate(); err != nil {
			return "", err
		}
		if i > 0 && sorted[i-1].ServicePortName == sp.ServicePortName {
			return "", fmt.Errorf("service %s: listed twice", sp)
		}
		for _, ep := range endpoints[sp.ServicePortName] {
			if err := ep.validate(); err != nil {
				return "", fmt.Errorf("service %s: endpoint: %w", sp, err)
			}
		}
	}
	s := &script{}
	s.skeleton(opts)
	for _, sp := range sorted {
		s.service(opts, sp, endpoints[sp.ServicePortName])
	}
	return s.String(), nil
}

// skeleton adds the hooks, dispatch maps and shared chains every table has.
func (s *script) skeleton(opts Options) {
	s.baseChain(chainNatPrerouting, "nat", "prerouting", "-100")
	s.baseChain(chainNatOutput, "nat", "output", "-100")
	s.baseChain(chainNatPostrouting, "nat", "postrouting", "100")
	// Numeric priorities: nft 1.0.6 accepts "dstnat" only on prerouting.
	// dstnat is -100, srcnat 100; filter chains run at filter-10 (-110),
	// before DNAT on output, like kube-proxy.
	s.baseChain(chainFilterInput, "filter", "input", "-110")
	s.baseChain(chainFilterForward, "filter", "forward", "-110")
	s.baseChain(chainFilterOutput, "filter", "output", "-110")
	for _, c := range []string{chainServices, chainMasquerading, chainMarkMasq, chainEndpointsCheck, chainNodePortsCheck, chainReject} {
		s.chain(c)
	}
	ipMapType := "type ipv4_addr . inet_proto . inet_service : verdict ;"
	portKey := "type inet_proto . inet_service : verdict ;"
	s.set("map", mapServiceIPs, ipMapType)
	s.set("map", mapServiceNodePorts, portKey)
	s.set("map", mapNoEndpointIPs, ipMapType)
	s.set("map", mapNoEndpointNodePts, portKey)

	mark := fmt.Sprintf("0x%x", opts.MasqueradeMark)
	nodeDst := "fib daddr type local ip daddr != 127.0.0.0/8"
	if len(opts.NodeIPs) > 0 {
		ips := slices.Sorted(slices.Values(opts.NodeIPs))
		nodeDst = "ip daddr { " + strings.Join(slices.Compact(ips), ", ") + " }"
	}
	s.rule(chainNatPrerouting, "jump", chainServices)
	s.rule(chainNatOutput, "jump", chainServices)
	s.rule(chainNatPostrouting, "jump", chainMasquerading)
	s.rule(chainFilterInput, "ct state new jump", chainNodePortsCheck)
	s.rule(chainFilterInput, "ct state new jump", chainEndpointsCheck)
	s.rule(chainFilterForward, "ct state new jump", chainEndpointsCheck)
	s.rule(chainFilterOutput, "ct state new jump", chainEndpointsCheck)
	s.rule(chainServices, "ip daddr . meta l4proto . th dport vmap @"+mapServiceIPs)
	s.rule(chainServices, nodeDst, "meta l4proto . th dport vmap @"+mapServiceNodePorts)
	s.rule(chainEndpointsCheck, "ip daddr . meta l4proto . th dport vmap @"+mapNoEndpointIPs)
	s.rule(chainNodePortsCheck, nodeDst, "meta l4proto . th dport vmap @"+mapNoEndpointNodePts)
	s.rule(chainMarkMasq, "meta mark set meta mark or", mark)
	s.rule(chainMasquerading, "meta mark and", mark, "== 0 return")
	s.rule(chainMasquerading, "meta mark set meta mark xor", mark)
	s.rule(chainMasquerading, "masquerade fully-random")
	s.rule(chainReject, "meta l4proto tcp reject with tcp reset")
	s.rule(chainReject, "reject with icmp type port-unreachable")
}

// service adds one Service port: its dispatch-map elements, its chains and
// one chain per endpoint it may pick.
func (s *script) service(opts Options, sp ServicePort, eps []Endpoint) {
	n := sp.ServicePortName
	proto := string(sp.Protocol)
	clusterEps := usable(eps)
	externalEps := clusterEps
	if sp.ExternalTrafficPolicyLocal {
		externalEps = usable(onNode(eps, opts.NodeName))
	}
	affinity := sp.SessionAffinityTimeout > 0

	if len(clusterEps) > 0 {
		svc := serviceChain(n)
		s.chain(svc)
		if sp.ClusterIP != "" && opts.ClusterCIDR != "" {
			s.rule(svc, "ip daddr", sp.ClusterIP, "ip saddr !=", opts.ClusterCIDR, "jump", chainMarkMasq)
		}
		s.balance(svc, n, clusterEps, affinity)
		for _, ep := range union(clusterEps, externalEps) {
			s.endpoint(sp, ep)
		}
	}
	if sp.ClusterIP != "" {
		key := fmt.Sprintf("%s . %s . %d", sp.ClusterIP, proto, sp.Port)
		if len(clusterEps) > 0 {
			s.element(mapServiceIPs, key+" : goto "+serviceChain(n))
		} else {
			s.element(mapNoEndpointIPs, key+" : goto "+chainReject)
		}
	}
	s.external(opts, sp, len(clusterEps) > 0, externalEps)
}

// external adds the NodePort and load-balancer entry points of a Service port.
func (s *script) external(opts Options, sp ServicePort, hasCluster bool, eps []Endpoint) {
	n := sp.ServicePortName
	proto := string(sp.Protocol)
	var nodePort string
	if sp.NodePort != 0 {
		nodePort = fmt.Sprintf("%s . %d", proto, sp.NodePort)
	}
	var lbKeys []string
	for _, ip := range slices.Compact(slices.Sorted(slices.Values(sp.LoadBalancerIPs))) {
		lbKeys = append(lbKeys, fmt.Sprintf("%s . %s . %d", ip, proto, sp.Port))
	}
	if nodePort == "" && len(lbKeys) == 0 {
		return
	}
	verdict := "goto " + externalChain(n)
	ipMap, portMap := mapServiceIPs, mapServiceNodePorts
	if len(eps) == 0 {
		// No endpoint at all rejects; Local with none on this node drops, as
		// kube-proxy does, so the load balancer's health check moves on.
		verdict = "goto " + chainReject
		if hasCluster {
			verdict = "drop"
		}
		ipMap, portMap = mapNoEndpointIPs, mapNoEndpointNodePts
	} else {
		s.externalChain(opts, sp, eps)
	}
	if nodePort != "" {
		s.element(portMap, nodePort+" : "+verdict)
	}
	for _, k := range lbKeys {
		s.element(ipMap, k+" : "+verdict)
	}
}

// externalChain: policy Cluster masquerades everything and balances over all
// endpoints; policy Local keeps the client address and balances over local
// endpoints, except for pods and the node itself, which use the cluster path.
func (s *script) externalChain(opts Options, sp ServicePort, eps []Endpoint) {
	n := sp.ServicePortName
	ext := externalChain(n)
	s.chain(ext)
	if !sp.ExternalTrafficPolicyLocal {
		s.rule(ext, "jump", chainMarkMasq)
		s.rule(ext, "goto", serviceChain(n))
		return
	}
	if opts.ClusterCIDR != "" {
		s.rule(ext, "ip saddr", opts.ClusterCIDR, "goto", serviceChain(n))
	}
	s.rule(ext, "fib saddr type local jump", chainMarkMasq)
	s.rule(ext, "fib saddr type local goto", serviceChain(n))
	s.rule(ext, "goto", localChain(n))
	s.chain(localChain(n))
	s.balance(localChain(n), n, eps, sp.SessionAffinityTimeout > 0)
}

// balance sends a new connection to a random endpoint, or with session
// affinity first to the endpoint the client used before.
func (s *script) balance(chain string, n ServicePortName, eps []Endpoint, affinity bool) {
	if affinity {
		for _, ep := range eps {
			s.rule(chain, "ip saddr @"+affinitySet(n, ep), "goto", endpointChain(n, ep))
		}
	}
	targets := make([]string, len(eps))
	for i, ep := range eps {
		targets[i] = fmt.Sprintf("%d : goto %s", i, endpointChain(n, ep))
	}
	s.rule(chain, "numgen random mod", strconv.Itoa(len(eps)), "vmap {", strings.Join(targets, " , "), "}")
}

// endpoint adds the chain that DNATs to one endpoint, masquerading hairpin
// traffic (an endpoint reaching itself through its Service).
func (s *script) endpoint(sp ServicePort, ep Endpoint) {
	c := endpointChain(sp.ServicePortName, ep)
	s.chain(c)
	s.rule(c, "ip saddr", ep.IP, "jump", chainMarkMasq)
	if sp.SessionAffinityTimeout > 0 {
		set := affinitySet(sp.ServicePortName, ep)
		secs := int64(sp.SessionAffinityTimeout.Seconds())
		s.set("set", set, fmt.Sprintf("type ipv4_addr ; flags dynamic,timeout ; timeout %ds ;", max(secs, 1)))
		s.rule(c, "update @"+set, "{ ip saddr }")
	}
	s.rule(c, "meta l4proto", string(sp.Protocol), "dnat to", fmt.Sprintf("%s:%d", ep.IP, ep.Port))
}
