package iptables

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"skiff.dev/services/proxy/internal/model"
)

const (
	svcChain = "SKIFF-SVC-SUSTUHLJ5NERIIXD"
	extChain = "SKIFF-EXT-SUSTUHLJ5NERIIXD"
	svlChain = "SKIFF-SVL-SUSTUHLJ5NERIIXD"
	ep1Chain = "SKIFF-SEP-NQ5W6Y27TE5ER4B7" // 10.244.1.5:8080
	ep2Chain = "SKIFF-SEP-7OYTRVECHY2ZCI5C" // 10.244.2.7:8080
	webNote  = `-m comment --comment "default/web:http"`
)

// lines renders st and returns its restore input, nat then filter, as one text.
func lines(t *testing.T, opts model.Options, st model.State) string {
	t.Helper()
	r, err := render(opts, st)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var b strings.Builder
	for _, tb := range r.tables() {
		in, _ := restoreInput(tb, tb.chains, nil)
		b.Write(in)
	}
	return b.String()
}

func checkLines(t *testing.T, got string, want, notWant []string) {
	t.Helper()
	have := map[string]bool{}
	for l := range strings.Lines(got) {
		have[strings.TrimSuffix(l, "\n")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("missing line\n  %s\nin\n%s", w, got)
		}
	}
	for _, nw := range notWant {
		if strings.Contains(got, nw) {
			t.Errorf("got %q in the rules, want it absent", nw)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string // lines the restore input must contain
		notWant []string // substrings it must not contain
	}{{
		fixture: "two endpoints",
		want: []string{
			":" + svcChain + " - [0:0]",
			`-A SKIFF-SERVICES -m comment --comment "default/web:http cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j ` + svcChain,
			`-A SKIFF-SERVICES -m comment --comment "node ports" -d 192.168.50.2/32 -j SKIFF-NODEPORTS`,
			`-A ` + svcChain + ` -m comment --comment "default/web:http cluster IP" -d 10.96.0.10/32 ! -s 10.244.0.0/16 -j SKIFF-MARK-MASQ`,
			`-A ` + svcChain + ` -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.5000000000 -j ` + ep1Chain,
			`-A ` + svcChain + ` -m comment --comment "default/web:http -> 10.244.2.7:8080" -j ` + ep2Chain,
			`-A ` + ep1Chain + " " + webNote + ` -s 10.244.1.5/32 -j SKIFF-MARK-MASQ`,
			`-A ` + ep1Chain + " " + webNote + ` -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080`,
			`-A ` + ep2Chain + " " + webNote + ` -p tcp -m tcp -j DNAT --to-destination 10.244.2.7:8080`,
			`-A SKIFF-MARK-MASQ -j MARK --or-mark 0x4000`,
			`-A SKIFF-POSTROUTING -m mark --mark 0x0/0x4000 -j RETURN`,
			`-A SKIFF-POSTROUTING -j MARK --xor-mark 0x4000`,
			`-A SKIFF-POSTROUTING -m comment --comment "skiff service traffic requiring SNAT" -j MASQUERADE --random-fully`,
		},
		notWant: []string{"REJECT", "recent", extChain, svlChain},
	}, {
		fixture: "no endpoints",
		want: []string{
			"*filter",
			`-A SKIFF-SERVICES -m comment --comment "default/web:http has no endpoints" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset`,
		},
		notWant: []string{svcChain, "SKIFF-SEP-", "DNAT"},
	}, {
		fixture: "terminating fallback",
		want: []string{
			`-A ` + svcChain + ` -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ` + ep1Chain,
			`-A SKIFF-SERVICES -m comment --comment "default/web:http cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j ` + svcChain,
		},
		notWant: []string{"10.244.2.7", "statistic", "REJECT"},
	}, {
		fixture: "affinity",
		want: []string{
			`-A ` + svcChain + " " + webNote + ` -m recent --name ` + ep1Chain + ` --rcheck --seconds 10800 --reap -j ` + ep1Chain,
			`-A ` + svcChain + " " + webNote + ` -m recent --name ` + ep2Chain + ` --rcheck --seconds 10800 --reap -j ` + ep2Chain,
			`-A ` + ep1Chain + " " + webNote + ` -m recent --name ` + ep1Chain + ` --set -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080`,
			`-A ` + svcChain + ` -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.5000000000 -j ` + ep1Chain,
		},
	}, {
		fixture: "nodeport local",
		want: []string{
			`-A SKIFF-NODEPORTS ` + webNote + ` -p tcp -m tcp --dport 30080 -j ` + extChain,
			`-A SKIFF-SERVICES -m comment --comment "default/web:http loadbalancer IP" -d 203.0.113.9/32 -p tcp -m tcp --dport 80 -j ` + extChain,
			`-A ` + extChain + ` -m comment --comment "pod traffic for default/web:http external destinations" -s 10.244.0.0/16 -j ` + svcChain,
			`-A ` + extChain + ` -m comment --comment "masquerade LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j SKIFF-MARK-MASQ`,
			`-A ` + extChain + ` -m comment --comment "route LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j ` + svcChain,
			`-A ` + extChain + ` -j ` + svlChain,
			`-A ` + svlChain + ` -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ` + ep1Chain,
			`-A ` + ep2Chain + " " + webNote + ` -p tcp -m tcp -j DNAT --to-destination 10.244.2.7:8080`,
		},
		notWant: []string{`-A ` + extChain + ` -m comment --comment "masquerade traffic for`, "REJECT", "DROP"},
	}}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			checkLines(t, lines(t, testOptions, fixtures[tt.fixture]), tt.want, tt.notWant)
		})
	}
}

func TestRenderExternalPolicies(t *testing.T) {
	sp := web()
	sp.NodePort = 30080
	sp.LoadBalancerIPs = []string{"203.0.113.9"}
	remote := map[model.ServicePortName][]model.Endpoint{sp.ServicePortName: {ep("10.244.2.7", true, "node-b")}}
	tests := []struct {
		name  string
		local bool
		eps   map[model.ServicePortName][]model.Endpoint
		want  []string
	}{
		{"cluster masquerades", false, remote, []string{
			`-A ` + extChain + ` -m comment --comment "masquerade traffic for default/web:http external destinations" -j SKIFF-MARK-MASQ`,
			`-A ` + extChain + ` -j ` + svcChain,
		}},
		{"local without local endpoints drops", true, remote, []string{
			`-A SKIFF-NODEPORTS -m comment --comment "default/web:http has no local endpoints" -d 192.168.50.2/32 -p tcp -m tcp --dport 30080 -j DROP`,
			`-A SKIFF-EXTERNAL-SERVICES -m comment --comment "default/web:http has no local endpoints" -d 203.0.113.9/32 -p tcp -m tcp --dport 80 -j DROP`,
		}},
		{"no endpoints rejects", false, nil, []string{
			`-A SKIFF-NODEPORTS -m comment --comment "default/web:http has no endpoints" -d 192.168.50.2/32 -p tcp -m tcp --dport 30080 -j REJECT --reject-with tcp-reset`,
			`-A SKIFF-EXTERNAL-SERVICES -m comment --comment "default/web:http has no endpoints" -d 203.0.113.9/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp.ExternalTrafficPolicyLocal = tt.local
			got := lines(t, testOptions, model.State{Services: []model.ServicePort{sp}, Endpoints: tt.eps})
			checkLines(t, got, tt.want, nil)
		})
	}
}

func TestRenderNodeDestinations(t *testing.T) {
	udp := web()
	udp.Protocol = model.UDP
	udp.NodePort = 30053
	opts := testOptions
	opts.NodeIPs = []string{"192.168.50.3", "192.168.50.2", "192.168.50.3"}
	got := lines(t, opts, model.State{Services: []model.ServicePort{udp}})
	checkLines(t, got, []string{
		`-A SKIFF-SERVICES -m comment --comment "node ports" -d 192.168.50.2/32 -j SKIFF-NODEPORTS`,
		`-A SKIFF-SERVICES -m comment --comment "node ports" -d 192.168.50.3/32 -j SKIFF-NODEPORTS`,
		`-A SKIFF-NODEPORTS -m comment --comment "default/web:http has no endpoints" -d 192.168.50.3/32 -p udp -m udp --dport 30053 -j REJECT --reject-with icmp-port-unreachable`,
	}, nil)
	if n := strings.Count(got, "-d 192.168.50.3/32 -j SKIFF-NODEPORTS"); n != 1 {
		t.Errorf("got %d jumps for a node IP listed twice, want 1", n)
	}

	opts.NodeIPs = nil
	got = lines(t, opts, model.State{Services: []model.ServicePort{udp}})
	checkLines(t, got, []string{
		`-A SKIFF-SERVICES -m comment --comment "node ports" ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j SKIFF-NODEPORTS`,
	}, []string{"192.168.50"})
}

func TestRenderDeterministic(t *testing.T) {
	a, b := web(), web()
	b.Name = "api"
	eps := map[model.ServicePortName][]model.Endpoint{
		a.ServicePortName: {ep("10.244.1.10", true, ""), ep("10.244.1.9", true, "")},
	}
	first := lines(t, testOptions, model.State{Services: []model.ServicePort{a, b}, Endpoints: eps})
	eps[a.ServicePortName][0], eps[a.ServicePortName][1] = eps[a.ServicePortName][1], eps[a.ServicePortName][0]
	second := lines(t, testOptions, model.State{Services: []model.ServicePort{b, a}, Endpoints: eps})
	if first != second {
		t.Errorf("got different rules for the same state:\n%s\n---\n%s", first, second)
	}
	if i, j := strings.Index(first, "-> 10.244.1.9:"), strings.Index(first, "-> 10.244.1.10:"); i > j {
		t.Errorf("got 10.244.1.10 before 10.244.1.9, want numeric order")
	}
}

func TestChainNames(t *testing.T) {
	long := strings.Repeat("a", 63)
	n := model.ServicePortName{Namespace: long, Name: long, PortName: long, Protocol: model.SCTP}
	e := model.Endpoint{IP: "255.255.255.255", Port: 65535}
	fixed := []string{chainServices, chainNodePorts, chainExternalServices, chainMarkMasq, chainPostrouting}
	for _, name := range append(fixed, serviceChain(n), externalChain(n), localChain(n), endpointChain(n, e)) {
		if len(name) > maxChainLen {
			t.Errorf("got chain name of %d bytes, want at most %d: %s", len(name), maxChainLen, name)
		}
		if !strings.HasPrefix(name, chainPrefix) {
			t.Errorf("got chain %s, want prefix %s", name, chainPrefix)
		}
	}
	short := n
	short.PortName = long[:62]
	if endpointChain(n, e) == endpointChain(short, e) {
		t.Errorf("got the same chain for two ports, want the hash to tell them apart")
	}
	other := e
	other.Port--
	if endpointChain(n, e) == endpointChain(n, other) {
		t.Errorf("got the same chain for two endpoints, want the hash to tell them apart")
	}
}

// TestProbabilities checks that n endpoints each get 1/n of new connections:
// rule i matches with 1/(n-i) of what rules before it left over.
func TestProbabilities(t *testing.T) {
	var eps []model.Endpoint
	for _, ip := range []string{"10.244.0.1", "10.244.0.2", "10.244.0.3", "10.244.0.4"} {
		eps = append(eps, ep(ip, true, ""))
	}
	r, err := render(testOptions, model.State{Services: []model.ServicePort{web()}, Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: eps}})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var got []string
	for _, rule := range r.nat.rules[svcChain] {
		if _, p, ok := strings.Cut(rule, "--probability "); ok {
			p, _, _ = strings.Cut(p, " ")
			got = append(got, p)
		}
	}
	want := []string{"0.2500000000", "0.3333333333", "0.5000000000"}
	if !slices.Equal(got, want) {
		t.Errorf("got probabilities %v, want %v", got, want)
	}
	if last := r.nat.rules[svcChain][len(r.nat.rules[svcChain])-1]; strings.Contains(last, "statistic") {
		t.Errorf("got last balancing rule %q, want it unconditional", last)
	}
}

func TestIncrementalChanges(t *testing.T) {
	before, err := render(testOptions, fixtures["two endpoints"])
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	st := fixtures["two endpoints"]
	st.Endpoints = maps.Clone(st.Endpoints)
	st.Endpoints[web().ServicePortName] = []model.Endpoint{ep("10.244.1.5", true, "node-a"), ep("10.244.2.7", false, "node-b")}
	after, err := render(testOptions, st)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if got, want := after.nat.changedSince(before.nat), []string{svcChain}; !slices.Equal(got, want) {
		t.Errorf("got changed nat chains %v, want %v", got, want)
	}
	if got, want := after.nat.unwanted(before.nat.chains), []string{ep2Chain}; !slices.Equal(got, want) {
		t.Errorf("got unwanted nat chains %v, want %v", got, want)
	}
	if got := after.filter.changedSince(before.filter); len(got) != 0 {
		t.Errorf("got changed filter chains %v, want none", got)
	}
	in, n := restoreInput(after.nat, []string{svcChain}, []string{ep2Chain})
	want := "*nat\n:" + svcChain + " - [0:0]\n:" + ep2Chain + " - [0:0]\n" +
		"-A " + svcChain + ` -m comment --comment "default/web:http cluster IP" -d 10.96.0.10/32 ! -s 10.244.0.0/16 -j SKIFF-MARK-MASQ` + "\n" +
		"-A " + svcChain + ` -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ` + ep1Chain + "\n" +
		"-X " + ep2Chain + "\nCOMMIT\n"
	if string(in) != want || n != 5 {
		t.Errorf("got restore input (%d lines)\n%s\nwant (5 lines)\n%s", n, in, want)
	}
}

func TestCleanupInput(t *testing.T) {
	saved := `# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SKIFF-SERVICES - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES
-A PREROUTING -j KUBE-SERVICES
-A OUTPUT -d 10.0.0.1/32 -g SKIFF-SERVICES
-A SKIFF-SERVICES -j RETURN
COMMIT
`
	in, n := cleanupInput("nat", saved)
	want := `*nat
-D PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES
-D OUTPUT -d 10.0.0.1/32 -g SKIFF-SERVICES
:SKIFF-SERVICES - [0:0]
-X SKIFF-SERVICES
COMMIT
`
	if string(in) != want || n != 4 {
		t.Errorf("got cleanup input (%d lines)\n%s\nwant (4 lines)\n%s", n, in, want)
	}
	if _, n := cleanupInput("nat", "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"); n != 0 {
		t.Errorf("got %d lines for a table without SKIFF chains, want 0", n)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	bad := func(mut func(*model.ServicePort)) []model.ServicePort {
		sp := web()
		mut(&sp)
		return []model.ServicePort{sp}
	}
	tests := []struct {
		name string
		opts model.Options
		st   model.State
	}{
		{"no mark", model.Options{}, model.State{}},
		{"bad cidr", model.Options{MasqueradeMark: 1, ClusterCIDR: "10.0.0.0"}, model.State{}},
		{"ipv6 node IP", model.Options{MasqueradeMark: 1, NodeIPs: []string{"fd00::1"}}, model.State{}},
		{"ipv6 cluster IP", testOptions, model.State{Services: bad(func(sp *model.ServicePort) { sp.ClusterIP = "fd00::1" })}},
		{"name with space", testOptions, model.State{Services: bad(func(sp *model.ServicePort) { sp.Name = "a b" })}},
		{"name with quote", testOptions, model.State{Services: bad(func(sp *model.ServicePort) { sp.PortName = `a"b` })}},
		{"bad protocol", testOptions, model.State{Services: bad(func(sp *model.ServicePort) { sp.Protocol = "icmp" })}},
		{"port zero", testOptions, model.State{Services: bad(func(sp *model.ServicePort) { sp.Port = 0 })}},
		{"duplicate", testOptions, model.State{Services: []model.ServicePort{web(), web()}}},
		{"bad endpoint", testOptions, model.State{
			Services:  []model.ServicePort{web()},
			Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {{IP: "x", Port: 1}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := render(tt.opts, tt.st); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
	if _, err := New(model.Options{}); err == nil {
		t.Errorf("New with zero options: got no error, want one")
	}
}

// TestRestoreInputListsLargeTables checks that a restore naming many chains
// starts with -S, which spares iptables-nft its quadratic chain search.
func TestRestoreInputListsLargeTables(t *testing.T) {
	big := newTable(tableNat)
	for i := range listAbove + 1 {
		big.rule(hashedChain("SKIFF-SEP-", strconv.Itoa(i)), "-j RETURN")
	}
	in, n := restoreInput(big, big.chains, nil)
	if !strings.HasPrefix(string(in), "*nat\n-S\n") || n != 2*(listAbove+1) {
		t.Errorf("got input of %d lines starting %q, want %d lines after \"*nat\\n-S\\n\"", n, string(in)[:20], 2*(listAbove+1))
	}
	small, _ := restoreInput(big, big.chains[:listAbove], nil)
	if strings.Contains(string(small), "-S\n") {
		t.Errorf("got -S in the input for %d chains, want it only above %d", listAbove, listAbove)
	}
}

// TestRenderTCPAndUDPOnOnePort: one port number over both protocols (as
// cluster DNS has it) gets a dispatch rule, a chain and a DNAT per
// protocol, on the ClusterIP and on the NodePort both share.
func TestRenderTCPAndUDPOnOnePort(t *testing.T) {
	st := fixtures["tcp and udp on one port"]
	var want []string
	for _, sp := range st.Services {
		n, proto := sp.ServicePortName, string(sp.Protocol)
		note := `-m comment --comment "` + portComment(n)
		ep := st.Endpoints[n][0]
		want = append(want,
			`-A SKIFF-SERVICES `+note+` cluster IP" -d 10.96.0.10/32 -p `+proto+` -m `+proto+` --dport 53 -j `+serviceChain(n),
			`-A SKIFF-NODEPORTS `+note+`" -p `+proto+` -m `+proto+` --dport 30053 -j `+externalChain(n),
			`-A `+endpointChain(n, ep)+" "+note+`" -p `+proto+` -m `+proto+` -j DNAT --to-destination `+ep.IP+":"+strconv.Itoa(ep.Port),
		)
	}
	checkLines(t, lines(t, testOptions, st), want, nil)
}
