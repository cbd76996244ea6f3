package iptables

import (
	"fmt"
	"slices"
	"strconv"

	"skiff.dev/services/proxy/internal/model"
)

// ruleset is everything the backend writes for one state.
type ruleset struct {
	nat, filter *table
}

// tables lists the tables in the order they are written.
func (r *ruleset) tables() []*table { return []*table{r.nat, r.filter} }

// count is how many rules the ruleset holds, the built-in jumps included.
func (r *ruleset) count() int { return r.nat.count() + r.filter.count() + len(builtinJumps) }

// render builds the chains for st on a node with opts. The result is
// deterministic: the same state gives the same chains and rules.
func render(opts model.Options, st model.State) (*ruleset, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	services, err := st.Sorted()
	if err != nil {
		return nil, err
	}
	r := &ruleset{nat: newTable(tableNat), filter: newTable(tableFilter)}
	r.skeleton(opts)
	nodeDst := nodeDestinations(opts)
	for _, sp := range services {
		r.service(opts, nodeDst, sp, st.Endpoints[sp.ServicePortName])
	}
	// Node ports come last, so a ClusterIP or load-balancer IP that is
	// also a local address keeps its own meaning.
	for _, dst := range nodeDst {
		r.nat.rule(chainServices, comment("node ports"), dst, "-j", chainNodePorts)
	}
	return r, nil
}

// nodeDestinations are the matches for packets addressed to the node, one
// rule each: every local address but loopback, or the configured node IPs.
func nodeDestinations(opts model.Options) []string {
	if len(opts.NodeIPs) == 0 {
		return []string{"! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL"}
	}
	var dsts []string
	for _, ip := range slices.Compact(slices.Sorted(slices.Values(opts.NodeIPs))) {
		dsts = append(dsts, "-d "+ip+"/32")
	}
	return dsts
}

// skeleton declares the fixed chains and fills the masquerade ones.
func (r *ruleset) skeleton(opts model.Options) {
	for _, c := range []string{chainServices, chainNodePorts, chainMarkMasq, chainPostrouting} {
		r.nat.chain(c)
	}
	for _, c := range []string{chainServices, chainExternalServices, chainNodePorts} {
		r.filter.chain(c)
	}
	mark := fmt.Sprintf("0x%x", opts.MasqueradeMark)
	r.nat.rule(chainMarkMasq, "-j MARK --or-mark", mark)
	r.nat.rule(chainPostrouting, "-m mark --mark", "0x0/"+mark, "-j RETURN")
	r.nat.rule(chainPostrouting, "-j MARK --xor-mark", mark)
	r.nat.rule(chainPostrouting, comment("skiff service traffic requiring SNAT"), "-j MASQUERADE --random-fully")
}

// service adds one Service port: its dispatch rules, its chains and one
// chain per endpoint it may pick, or reject rules when it has none.
func (r *ruleset) service(opts model.Options, nodeDst []string, sp model.ServicePort, eps []model.Endpoint) {
	n := sp.ServicePortName
	clusterEps := model.Usable(eps)
	externalEps := clusterEps
	if sp.ExternalTrafficPolicyLocal {
		externalEps = model.Usable(model.OnNode(eps, opts.NodeName))
	}
	name := portComment(n)
	dport := portMatch(sp.Protocol, sp.Port)

	if len(clusterEps) > 0 {
		svc := serviceChain(n)
		r.nat.chain(svc)
		if sp.ClusterIP != "" && opts.ClusterCIDR != "" {
			r.nat.rule(svc, comment(name+" cluster IP"), "-d", sp.ClusterIP+"/32", "!", "-s", opts.ClusterCIDR, "-j", chainMarkMasq)
		}
		r.balance(svc, sp, clusterEps)
		for _, ep := range model.Union(clusterEps, externalEps) {
			r.endpoint(sp, ep)
		}
	}
	if sp.ClusterIP != "" {
		dst := "-d " + sp.ClusterIP + "/32"
		if len(clusterEps) > 0 {
			r.nat.rule(chainServices, comment(name+" cluster IP"), dst, dport, "-j", serviceChain(n))
		} else {
			r.filter.rule(chainServices, comment(name+" has no endpoints"), dst, dport, reject(sp.Protocol))
		}
	}
	r.external(opts, nodeDst, sp, len(clusterEps) > 0, externalEps)
}

// external adds the NodePort and load-balancer entry points of a Service port.
func (r *ruleset) external(opts model.Options, nodeDst []string, sp model.ServicePort, hasCluster bool, eps []model.Endpoint) {
	n := sp.ServicePortName
	lbIPs := slices.Compact(slices.Sorted(slices.Values(sp.LoadBalancerIPs)))
	if sp.NodePort == 0 && len(lbIPs) == 0 {
		return
	}
	name := portComment(n)
	dport := portMatch(sp.Protocol, sp.Port)
	nodePort := portMatch(sp.Protocol, sp.NodePort)
	if len(eps) == 0 {
		// No endpoint at all rejects; policy Local with none on this node
		// drops, as kube-proxy does, so load balancers' health checks move on.
		verdict, why := reject(sp.Protocol), " has no endpoints"
		if hasCluster {
			verdict, why = "-j DROP", " has no local endpoints"
		}
		if sp.NodePort != 0 {
			for _, dst := range nodeDst {
				r.filter.rule(chainNodePorts, comment(name+why), dst, nodePort, verdict)
			}
		}
		for _, ip := range lbIPs {
			r.filter.rule(chainExternalServices, comment(name+why), "-d", ip+"/32", dport, verdict)
		}
		return
	}
	r.externalChain(opts, sp, eps)
	if sp.NodePort != 0 {
		r.nat.rule(chainNodePorts, comment(name), nodePort, "-j", externalChain(n))
	}
	for _, ip := range lbIPs {
		r.nat.rule(chainServices, comment(name+" loadbalancer IP"), "-d", ip+"/32", dport, "-j", externalChain(n))
	}
}

// externalChain: policy Cluster masquerades everything and balances over all
// endpoints; policy Local keeps the client address and balances over local
// endpoints, except for pods and the node itself, which take the cluster path.
func (r *ruleset) externalChain(opts model.Options, sp model.ServicePort, eps []model.Endpoint) {
	n := sp.ServicePortName
	ext, svc := externalChain(n), serviceChain(n)
	name := portComment(n)
	if !sp.ExternalTrafficPolicyLocal {
		r.nat.rule(ext, comment("masquerade traffic for "+name+" external destinations"), "-j", chainMarkMasq)
		r.nat.rule(ext, "-j", svc)
		return
	}
	if opts.ClusterCIDR != "" {
		r.nat.rule(ext, comment("pod traffic for "+name+" external destinations"), "-s", opts.ClusterCIDR, "-j", svc)
	}
	r.nat.rule(ext, comment("masquerade LOCAL traffic for "+name+" external destinations"), "-m addrtype --src-type LOCAL -j", chainMarkMasq)
	r.nat.rule(ext, comment("route LOCAL traffic for "+name+" external destinations"), "-m addrtype --src-type LOCAL -j", svc)
	r.nat.rule(ext, "-j", localChain(n))
	r.balance(localChain(n), sp, eps)
}

// balance sends a new connection to a random endpoint, or with session
// affinity first to the endpoint the client used before.
func (r *ruleset) balance(chain string, sp model.ServicePort, eps []model.Endpoint) {
	n := sp.ServicePortName
	name := portComment(n)
	if secs := affinitySeconds(sp); secs > 0 {
		for _, ep := range eps {
			sep := endpointChain(n, ep)
			r.nat.rule(chain, comment(name), "-m recent --name", sep, "--rcheck --seconds", strconv.Itoa(secs), "--reap -j", sep)
		}
	}
	for i, ep := range eps {
		target := "-j " + endpointChain(n, ep)
		about := comment(name + " -> " + ep.IP + ":" + strconv.Itoa(ep.Port))
		if left := len(eps) - i; left > 1 {
			p := strconv.FormatFloat(1/float64(left), 'f', 10, 64)
			r.nat.rule(chain, about, "-m statistic --mode random --probability", p, target)
		} else {
			r.nat.rule(chain, about, target)
		}
	}
}

// endpoint adds the chain that DNATs to one endpoint, masquerading hairpin
// traffic (an endpoint reaching itself through its Service).
func (r *ruleset) endpoint(sp model.ServicePort, ep model.Endpoint) {
	sep := endpointChain(sp.ServicePortName, ep)
	name := portComment(sp.ServicePortName)
	r.nat.rule(sep, comment(name), "-s", ep.IP+"/32", "-j", chainMarkMasq)
	recent := ""
	if affinitySeconds(sp) > 0 {
		recent = "-m recent --name " + sep + " --set "
	}
	proto := string(sp.Protocol)
	r.nat.rule(sep, comment(name), recent+"-p", proto, "-m", proto, "-j DNAT --to-destination", ep.IP+":"+strconv.Itoa(ep.Port))
}

// affinitySeconds is the session affinity timeout in whole seconds, at
// least one when affinity is on, zero when off.
func affinitySeconds(sp model.ServicePort) int {
	if sp.SessionAffinityTimeout <= 0 {
		return 0
	}
	return max(int(sp.SessionAffinityTimeout.Seconds()), 1)
}

// portMatch matches a protocol and destination port.
func portMatch(proto model.Protocol, port int) string {
	p := string(proto)
	return "-p " + p + " -m " + p + " --dport " + strconv.Itoa(port)
}

// reject refuses a connection: a TCP reset for TCP, else ICMP port unreachable.
func reject(proto model.Protocol) string {
	if proto == model.TCP {
		return "-j REJECT --reject-with tcp-reset"
	}
	return "-j REJECT --reject-with icmp-port-unreachable"
}
