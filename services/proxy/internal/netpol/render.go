package netpol

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/knftables"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/proxy/internal/nftables"
)

// Render returns the table that enforces st's policies on the pods of
// node: a pod that a policy of a direction selects is isolated in that
// direction, and only what one of those policies allows passes. The same
// state gives the same ruleset.
func Render(node string, st State) *nftables.Ruleset {
	r := nftables.NewRuleset()
	skeleton(r)
	ix := newIndex(st)
	// dispatch: direction → local pod key → chains of the policies selecting it.
	dispatch := map[string]map[string][]string{dirIngress: {}, dirEgress: {}}
	for _, p := range sortedPolicies(st.Policies) {
		selected := ix.selected(node, p)
		if len(selected) == 0 {
			continue
		}
		key := p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
		selBytes, _ := proto.MarshalOptions{Deterministic: true}.Marshal(p.GetSpec().GetPodSelector())
		selKey := string(selBytes)
		for _, dir := range policyTypes(p.GetSpec()) {
			pr := &policyRender{r: r, ix: ix, key: key, ns: p.GetMetadata().GetNamespace(), dir: dir, selected: selected, selKey: selKey}
			pr.render(p.GetSpec())
			for _, pod := range selected {
				dispatch[dir][pod.key()] = append(dispatch[dir][pod.key()], policyChain(key, dir))
			}
		}
	}
	podChains(r, ix, dispatch)
	return r
}

// podChains adds each isolated pod's chain, which tries the chains of the
// policies selecting it in turn and drops what none accepts, and its
// dispatch map element.
func podChains(r *nftables.Ruleset, ix *index, dispatch map[string]map[string][]string) {
	for dir, m := range map[string]string{dirIngress: mapIngressPods, dirEgress: mapEgressPods} {
		for _, podKey := range slices.Sorted(maps.Keys(dispatch[dir])) {
			chain := podChain(podKey, dir)
			r.AddChain(chain)
			for _, pc := range dispatch[dir][podKey] {
				r.AddRule(chain, "jump", pc)
			}
			r.AddRule(chain, "drop")
			r.AddElement(m, []string{ix.byKey[podKey].IP}, "goto "+chain)
		}
	}
}

// skeleton adds the base chains and dispatch maps every table has. Replies
// and the rest of connections a policy allowed pass first, so changed
// policies leave established connections alone.
func skeleton(r *nftables.Ruleset) {
	r.AddBaseChain(chainEgress, knftables.FilterType, knftables.ForwardHook, "0")
	r.AddBaseChain(chainIngress, knftables.FilterType, knftables.ForwardHook, "1")
	r.AddMap(mapEgressPods, dispatchMapType)
	r.AddMap(mapIngressPods, dispatchMapType)
	r.AddRule(chainEgress, "ct state established,related accept")
	r.AddRule(chainEgress, "ip saddr vmap @"+mapEgressPods)
	r.AddRule(chainIngress, "ct state established,related accept")
	r.AddRule(chainIngress, "ip daddr vmap @"+mapIngressPods)
}

// policyTypes are the directions a policy isolates: its policyTypes, or
// when unset Ingress, and Egress too if it has egress rules.
func policyTypes(spec *networkingv1.NetworkPolicySpec) []string {
	if t := spec.GetPolicyTypes(); len(t) > 0 {
		var out []string
		for _, dir := range []string{dirIngress, dirEgress} {
			if slices.Contains(t, dir) {
				out = append(out, dir)
			}
		}
		return out
	}
	if len(spec.GetEgress()) > 0 {
		return []string{dirIngress, dirEgress}
	}
	return []string{dirIngress}
}

func sortedPolicies(ps []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b *networkingv1.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.GetMetadata().GetNamespace(), b.GetMetadata().GetNamespace()),
			cmp.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName()))
	})
	return out
}

// policyRender writes one direction of one policy: its chain and the sets
// its rules match against.
type policyRender struct {
	r        *nftables.Ruleset
	ix       *index
	key, ns  string
	dir      string
	selected []Pod
	// selKey identifies the policy's podSelector, for sets of the
	// selected pods.
	selKey string
}

func (pr *policyRender) render(spec *networkingv1.NetworkPolicySpec) {
	pr.r.AddChain(policyChain(pr.key, pr.dir))
	if pr.dir == dirIngress {
		for _, rule := range spec.GetIngress() {
			pr.rule(rule.GetFrom(), rule.GetPorts())
		}
		return
	}
	for _, rule := range spec.GetEgress() {
		pr.rule(rule.GetTo(), rule.GetPorts())
	}
}

// rule writes one ingress or egress rule: an accept for each pair of a
// peer match and a port match, and the named ports' accepts.
func (pr *policyRender) rule(peers []*networkingv1.NetworkPolicyPeer, ports []*networkingv1.NetworkPolicyPort) {
	chain := policyChain(pr.key, pr.dir)
	peerMatches, podPeers := pr.peers(peers)
	portMatches := []string{""}
	if len(ports) > 0 {
		portMatches = nil
	}
	for _, port := range ports {
		l4 := strings.ToLower(protocolOr(port.GetProtocol()))
		p := port.GetPort()
		switch {
		case p.GetType() == 1:
			pr.namedPort(chain, p.GetStrVal(), l4, peerMatches, podPeers, len(peers) == 0)
		case p.GetIntVal() == 0:
			portMatches = append(portMatches, "meta l4proto "+l4)
		case port.GetEndPort() > p.GetIntVal():
			portMatches = append(portMatches, "meta l4proto "+l4+" th dport "+strconv.Itoa(int(p.GetIntVal()))+"-"+strconv.Itoa(int(port.GetEndPort())))
		default:
			portMatches = append(portMatches, "meta l4proto "+l4+" th dport "+strconv.Itoa(int(p.GetIntVal())))
		}
	}
	for _, peer := range peerMatches {
		for _, port := range portMatches {
			pr.r.AddRule(chain, join(peer, port, "accept"))
		}
	}
}

// peers adds the rule's peer sets and returns the matches on them (one
// empty match when the rule allows every peer) and the keys of its pod
// peers. Sets are named after what they hold, so policies with the same
// peers share them, and a pod's label change is one element.
func (pr *policyRender) peers(peers []*networkingv1.NetworkPolicyPeer) ([]string, []string) {
	if len(peers) == 0 {
		return []string{""}, nil
	}
	field := "ip saddr"
	if pr.dir == dirEgress {
		field = "ip daddr"
	}
	var spans []span
	var matches, podPeers []string
	hasBlocks := false
	for _, peer := range peers {
		if b := peer.GetIpBlock(); b != nil {
			hasBlocks = true
			spans = append(spans, blockSpans(b.GetCidr(), b.GetExcept())...)
			continue
		}
		key := peerKey(pr.ns, peer)
		name := setName("peer", key)
		if !pr.r.HasSet(name) {
			pr.r.AddSet(&knftables.Set{Name: name, Type: "ipv4_addr"})
			for _, p := range pr.ix.peerPods(key, pr.ns, peer) {
				pr.r.AddMember(name, p.IP)
			}
		}
		podPeers = append(podPeers, key)
		matches = append(matches, field+" @"+name)
	}
	if hasBlocks {
		var elems []string
		for _, s := range merge(spans) {
			elems = append(elems, s.element())
		}
		name := setName("cidrs", strings.Join(elems, ","))
		pr.r.AddSet(&knftables.Set{Name: name, Type: "ipv4_addr", Flags: []knftables.SetFlag{knftables.IntervalFlag}})
		for _, e := range elems {
			pr.r.AddMember(name, e)
		}
		matches = append(matches, field+" @"+name)
	}
	return matches, podPeers
}

// namedPort resolves a port name against the destination pods: for
// ingress the selected local pods, for egress each pod peer's pods (or
// every pod when the rule has no peers; an ipBlock peer has no ports to
// name, so it matches nothing here).
func (pr *policyRender) namedPort(chain, name, l4 string, peerMatches, podPeers []string, anyPeer bool) {
	match := "ip daddr . meta l4proto . th dport @"
	if pr.dir == dirIngress {
		set := pr.portSet("dst\x00"+pr.ns+"\x00"+pr.selKey, name, l4, pr.selected)
		for _, peer := range peerMatches {
			pr.r.AddRule(chain, join(peer, match+set, "accept"))
		}
		return
	}
	if anyPeer {
		pr.r.AddRule(chain, match+pr.portSet("all", name, l4, pr.ix.pods), "accept")
	}
	for _, key := range podPeers {
		pr.r.AddRule(chain, match+pr.portSet("peer\x00"+key, name, l4, pr.ix.groups[key]), "accept")
	}
}

// portSet adds the set of address . protocol . port of the pods whose
// container port name is name, for the group of pods key names.
func (pr *policyRender) portSet(key, name, l4 string, pods []Pod) string {
	set := setName("port", key+"\x00"+name+"\x00"+l4)
	if pr.r.HasSet(set) {
		return set
	}
	pr.r.AddSet(&knftables.Set{Name: set, Type: namedPortKey})
	for _, pod := range pods {
		for _, np := range pod.Ports {
			if np.Name == name && strings.ToLower(np.Protocol) == l4 {
				pr.r.AddMember(set, pod.IP, l4, strconv.Itoa(int(np.Port)))
			}
		}
	}
	return set
}

// peerKey identifies what a pod peer selects: its selectors, and the
// policy's namespace when it has no namespace selector.
func peerKey(ns string, peer *networkingv1.NetworkPolicyPeer) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&networkingv1.NetworkPolicyPeer{
		PodSelector: peer.GetPodSelector(), NamespaceSelector: peer.GetNamespaceSelector()})
	if peer.GetNamespaceSelector() != nil {
		ns = ""
	}
	return ns + "\x00" + string(b)
}

// join joins the non-empty parts of a rule.
func join(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

// index finds pods by namespace and namespaces by labels.
type index struct {
	pods       []Pod
	byKey      map[string]Pod
	byNS       map[string][]Pod
	namespaces map[string]map[string]string
	// groups are the pods of each pod peer, by peerKey, once computed.
	groups map[string][]Pod
}

func newIndex(st State) *index {
	ix := &index{byKey: map[string]Pod{}, byNS: map[string][]Pod{}, namespaces: st.Namespaces, groups: map[string][]Pod{}}
	ix.pods = slices.Clone(st.Pods)
	slices.SortFunc(ix.pods, func(a, b Pod) int { return cmp.Compare(a.key(), b.key()) })
	for _, p := range ix.pods {
		ix.byKey[p.key()] = p
		ix.byNS[p.Namespace] = append(ix.byNS[p.Namespace], p)
	}
	return ix
}

// selected are the pods of node the policy applies to.
func (ix *index) selected(node string, p *networkingv1.NetworkPolicy) []Pod {
	var out []Pod
	for _, pod := range ix.byNS[p.GetMetadata().GetNamespace()] {
		if pod.Node == node && selects(p.GetSpec().GetPodSelector(), pod.Labels) {
			out = append(out, pod)
		}
	}
	return out
}

// peerPods are the pods a podSelector / namespaceSelector peer of a policy
// in namespace ns names, on any node; key is the peer's peerKey.
func (ix *index) peerPods(key, ns string, peer *networkingv1.NetworkPolicyPeer) []Pod {
	if pods, ok := ix.groups[key]; ok {
		return pods
	}
	namespaces := []string{ns}
	if sel := peer.GetNamespaceSelector(); sel != nil {
		namespaces = nil
		for _, name := range slices.Sorted(maps.Keys(ix.namespaces)) {
			if labels.Matches(sel, ix.namespaces[name]) {
				namespaces = append(namespaces, name)
			}
		}
	}
	var out []Pod
	for _, name := range namespaces {
		for _, pod := range ix.byNS[name] {
			if peer.GetPodSelector() == nil || labels.Matches(peer.GetPodSelector(), pod.Labels) {
				out = append(out, pod)
			}
		}
	}
	ix.groups[key] = out
	return out
}

// selects is labels.Matches with an unset selector taken as empty (every
// pod), as the required podSelector means when sent empty.
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return true
	}
	return labels.Matches(sel, set)
}
