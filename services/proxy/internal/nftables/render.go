package nftables

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/knftables"

	"skiff.dev/services/proxy/internal/model"
)

// Render returns the table that serves the state's Service ports and
// endpoints on this node. The same state gives the same ruleset.
func Render(opts model.Options, st model.State) (*Ruleset, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	sorted, err := st.Sorted()
	if err != nil {
		return nil, err
	}
	r := newRuleset()
	r.skeleton(opts)
	for _, sp := range sorted {
		r.service(opts, sp, st.Endpoints[sp.ServicePortName])
	}
	return r, nil
}

// skeleton adds the hooks, dispatch maps and shared chains every table has.
func (r *Ruleset) skeleton(opts model.Options) {
	r.baseChain(chainNatPrerouting, knftables.NATType, knftables.PreroutingHook, "-100")
	r.baseChain(chainNatOutput, knftables.NATType, knftables.OutputHook, "-100")
	r.baseChain(chainNatPostrouting, knftables.NATType, knftables.PostroutingHook, "100")
	// Numeric priorities: nft 1.0.6 accepts "dstnat" only on prerouting.
	// dstnat is -100, srcnat 100; filter chains run at filter-10 (-110),
	// before DNAT on output, like kube-proxy.
	r.baseChain(chainFilterInput, knftables.FilterType, knftables.InputHook, "-110")
	r.baseChain(chainFilterForward, knftables.FilterType, knftables.ForwardHook, "-110")
	r.baseChain(chainFilterOutput, knftables.FilterType, knftables.OutputHook, "-110")
	// The cluster-IP check must see the node's own packets after DNAT, as
	// forwarded ones are: at the filter priority (0), like kube-proxy's.
	r.baseChain(chainOutputPostDNAT, knftables.FilterType, knftables.OutputHook, "0")
	for _, c := range []string{chainServices, chainMasquerading, chainMarkMasq, chainEndpointsCheck, chainNodePortsCheck, chainReject, chainClusterIPsCheck} {
		r.chain(c)
	}
	r.addSet(&knftables.Set{Name: setClusterIPs, Type: "ipv4_addr"}, true)
	ipKey := "ipv4_addr . inet_proto . inet_service : verdict"
	portKey := "inet_proto . inet_service : verdict"
	r.addMap(mapServiceIPs, ipKey)
	r.addMap(mapServiceNodePorts, portKey)
	r.addMap(mapNoEndpointIPs, ipKey)
	r.addMap(mapNoEndpointNodePts, portKey)

	mark := fmt.Sprintf("0x%x", opts.MasqueradeMark)
	nodeDst := "fib daddr type local ip daddr != 127.0.0.0/8"
	if len(opts.NodeIPs) > 0 {
		ips := slices.Sorted(slices.Values(opts.NodeIPs))
		nodeDst = "ip daddr { " + strings.Join(slices.Compact(ips), ", ") + " }"
	}
	r.rule(chainNatPrerouting, "jump", chainServices)
	r.rule(chainNatOutput, "jump", chainServices)
	r.rule(chainNatPostrouting, "jump", chainMasquerading)
	r.rule(chainFilterInput, "ct state new jump", chainNodePortsCheck)
	r.rule(chainFilterInput, "ct state new jump", chainEndpointsCheck)
	r.rule(chainFilterForward, "ct state new jump", chainEndpointsCheck)
	r.rule(chainFilterForward, "ct state new jump", chainClusterIPsCheck)
	r.rule(chainFilterOutput, "ct state new jump", chainEndpointsCheck)
	r.rule(chainOutputPostDNAT, "ct state new jump", chainClusterIPsCheck)
	r.rule(chainServices, "ip daddr . meta l4proto . th dport vmap @"+mapServiceIPs)
	r.rule(chainServices, nodeDst, "meta l4proto . th dport vmap @"+mapServiceNodePorts)
	r.rule(chainEndpointsCheck, "ip daddr . meta l4proto . th dport vmap @"+mapNoEndpointIPs)
	r.rule(chainNodePortsCheck, nodeDst, "meta l4proto . th dport vmap @"+mapNoEndpointNodePts)
	r.rule(chainMarkMasq, "meta mark set meta mark or", mark)
	r.rule(chainMasquerading, "meta mark and", mark, "== 0 return")
	r.rule(chainMasquerading, "meta mark set meta mark xor", mark)
	r.rule(chainMasquerading, "masquerade fully-random")
	// A packet still addressed to a ClusterIP after DNAT asked for a port
	// no Service serves there: refuse it on the node, as kube-proxy does,
	// rather than route it on (a network that answers any address would
	// answer it, as if the port were still served).
	r.rule(chainClusterIPsCheck, "ip daddr @"+setClusterIPs, "goto", chainReject)
	r.rule(chainReject, "meta l4proto tcp reject with tcp reset")
	r.rule(chainReject, "reject with icmp type port-unreachable")
}

// service adds one Service port: its dispatch-map elements, its chains and
// one chain per endpoint it may pick.
func (r *Ruleset) service(opts model.Options, sp model.ServicePort, eps []model.Endpoint) {
	n := sp.ServicePortName
	proto := string(sp.Protocol)
	clusterEps := model.Usable(eps)
	externalEps := clusterEps
	if sp.ExternalTrafficPolicyLocal {
		externalEps = model.Usable(model.OnNode(eps, opts.NodeName))
	}

	if len(clusterEps) > 0 {
		svc := serviceChain(n)
		r.chain(svc)
		if sp.ClusterIP != "" && opts.ClusterCIDR != "" {
			r.rule(svc, "ip daddr", sp.ClusterIP, "ip saddr !=", opts.ClusterCIDR, "jump", chainMarkMasq)
		}
		r.balance(svc, n, clusterEps, sp.SessionAffinityTimeout)
		for _, ep := range model.Union(clusterEps, externalEps) {
			r.endpoint(sp, ep)
		}
	}
	if sp.ClusterIP != "" {
		r.member(setClusterIPs, sp.ClusterIP)
		key := []string{sp.ClusterIP, proto, strconv.Itoa(sp.Port)}
		if len(clusterEps) > 0 {
			r.element(mapServiceIPs, key, "goto "+serviceChain(n))
		} else {
			r.element(mapNoEndpointIPs, key, "goto "+chainReject)
		}
	}
	r.external(opts, sp, len(clusterEps) > 0, externalEps)
}

// external adds the NodePort and load-balancer entry points of a Service port.
func (r *Ruleset) external(opts model.Options, sp model.ServicePort, hasCluster bool, eps []model.Endpoint) {
	n := sp.ServicePortName
	proto := string(sp.Protocol)
	var nodePort []string
	if sp.NodePort != 0 {
		nodePort = []string{proto, strconv.Itoa(sp.NodePort)}
	}
	var lbKeys [][]string
	for _, ip := range slices.Compact(slices.Sorted(slices.Values(sp.LoadBalancerIPs))) {
		lbKeys = append(lbKeys, []string{ip, proto, strconv.Itoa(sp.Port)})
	}
	if nodePort == nil && len(lbKeys) == 0 {
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
		r.externalChain(opts, sp, eps)
	}
	if nodePort != nil {
		r.element(portMap, nodePort, verdict)
	}
	for _, k := range lbKeys {
		r.element(ipMap, k, verdict)
	}
}

// externalChain: policy Cluster masquerades everything and balances over all
// endpoints; policy Local keeps the client address and balances over local
// endpoints, except for pods and the node itself, which use the cluster path.
func (r *Ruleset) externalChain(opts model.Options, sp model.ServicePort, eps []model.Endpoint) {
	n := sp.ServicePortName
	ext := externalChain(n)
	r.chain(ext)
	if !sp.ExternalTrafficPolicyLocal {
		r.rule(ext, "jump", chainMarkMasq)
		r.rule(ext, "goto", serviceChain(n))
		return
	}
	if opts.ClusterCIDR != "" {
		r.rule(ext, "ip saddr", opts.ClusterCIDR, "goto", serviceChain(n))
	}
	r.rule(ext, "fib saddr type local jump", chainMarkMasq)
	r.rule(ext, "fib saddr type local goto", serviceChain(n))
	r.rule(ext, "goto", localChain(n))
	r.chain(localChain(n))
	r.balance(localChain(n), n, eps, sp.SessionAffinityTimeout)
}

// balance sends a new connection to a random endpoint, or with session
// affinity first to the endpoint the client used before.
func (r *Ruleset) balance(chain string, n model.ServicePortName, eps []model.Endpoint, affinity time.Duration) {
	if affinity > 0 {
		for _, ep := range eps {
			r.rule(chain, "ip saddr @"+affinitySet(n, ep, affinity), "goto", endpointChain(n, ep))
		}
	}
	if len(eps) > cascadeMax {
		targets := make([]string, len(eps))
		for i, ep := range eps {
			targets[i] = fmt.Sprintf("%d : goto %s", i, endpointChain(n, ep))
		}
		r.rule(chain, "numgen random mod", strconv.Itoa(len(eps)), "vmap {", strings.Join(targets, " , "), "}")
		return
	}
	// Endpoint i of n is taken with probability 1/(n-i) if none before it
	// was, which makes every endpoint equally likely.
	for i, ep := range eps[:len(eps)-1] {
		r.rule(chain, "numgen random mod", strconv.Itoa(len(eps)-i), "0 goto", endpointChain(n, ep))
	}
	r.rule(chain, "goto", endpointChain(n, eps[len(eps)-1]))
}

// cascadeMax is the most endpoints balanced by a cascade of rules. Larger
// Services use one anonymous verdict map (one lookup whatever the size);
// the kernel names and finds sets by walking the table's list of them, so
// thousands of maps make a big sync quadratic: 10,000 two-endpoint
// Services took 95 s to load with a map each, 1 s with cascades.
const cascadeMax = 8

// endpoint adds the chain that DNATs to one endpoint, masquerading hairpin
// traffic (an endpoint reaching itself through its Service).
func (r *Ruleset) endpoint(sp model.ServicePort, ep model.Endpoint) {
	c := endpointChain(sp.ServicePortName, ep)
	r.chain(c)
	r.rule(c, "ip saddr", ep.IP, "jump", chainMarkMasq)
	if sp.SessionAffinityTimeout > 0 {
		set := affinitySet(sp.ServicePortName, ep, sp.SessionAffinityTimeout)
		timeout := max(sp.SessionAffinityTimeout.Truncate(time.Second), time.Second)
		r.addSet(&knftables.Set{Name: set, Type: "ipv4_addr", Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag}, Timeout: &timeout}, false)
		r.rule(c, "update @"+set, "{ ip saddr }")
	}
	r.rule(c, "meta l4proto", string(sp.Protocol), "dnat to", fmt.Sprintf("%s:%d", ep.IP, ep.Port))
}
