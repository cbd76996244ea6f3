//go:build linux && (amd64 || arm64)

package netpol

import (
	"fmt"
	"slices"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/proxy/internal/model"
)

// benchState is 1,000 pods of this node in 10 namespaces and 1,000
// policies, 100 a namespace: each selects the 10 pods of one app, allows
// ingress from one role of its namespace and of every namespace labelled
// tier=web on a named port and 443, and every fourth also isolates egress
// to an ipBlock with an except. Every pod is selected by 10 policies.
func benchState() State {
	st := State{Namespaces: map[string]map[string]string{}}
	for i := range 10 {
		ns := fmt.Sprintf("ns-%d", i)
		st.Namespaces[ns] = map[string]string{labelNamespaceName: ns, "tier": []string{"web", "db"}[i%2]}
		for j := range 100 {
			st.Pods = append(st.Pods, Pod{Namespace: ns, Name: fmt.Sprintf("pod-%d", j), Node: node,
				IP: fmt.Sprintf("10.244.%d.%d", i, j+2), Ports: []NamedPort{{Name: "http", Protocol: "TCP", Port: 8080}},
				Labels: map[string]string{"app": fmt.Sprintf("app-%d", j%10), "role": fmt.Sprintf("role-%d", j%5)}})
		}
		for k := range 100 {
			spec := &networkingv1.NetworkPolicySpec{PodSelector: sel("app", fmt.Sprintf("app-%d", k%10)),
				Ingress: ingress([]*networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", fmt.Sprintf("role-%d", k%5))},
					{NamespaceSelector: sel("tier", "web"), PodSelector: &metav1.LabelSelector{}}},
					namedPort("", "http"), intPort("", 443, 0))}
			if k%4 == 0 {
				spec.PolicyTypes = []string{dirIngress, dirEgress}
				spec.Egress = egress([]*networkingv1.NetworkPolicyPeer{{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}})
			}
			st.Policies = append(st.Policies, policy(ns, fmt.Sprintf("policy-%d", k), spec))
		}
	}
	return st
}

// relabeled is st with the role of one pod in a tier=db namespace changed:
// it leaves one peer set for another.
func relabeled(st State) State {
	out := st
	out.Pods = slices.Clone(st.Pods)
	out.Pods[107].Labels = map[string]string{"app": "app-7", "role": "role-4"}
	return out
}

// BenchmarkRender is the pure rendering of the 1,000-policy state.
func BenchmarkRender(b *testing.B) {
	st := benchState()
	for b.Loop() {
		Render(node, st)
	}
}

// BenchmarkSync measures full syncs of 1,000 policies over 1,000 pods into
// the real nft in a test-made namespace, and incremental syncs of one pod's
// label change.
func BenchmarkSync(b *testing.B) {
	base := benchState()
	changed := relabeled(base)
	b.Run("policies=1000/pods=1000/full", func(b *testing.B) {
		ns := newNetns(b)
		be := ns.backend()
		var stats model.SyncStats
		for b.Loop() {
			stats = ns.sync(be, base, true)
		}
		b.ReportMetric(float64(stats.Rules), "rules")
		ns.cleanup(be)
	})
	b.Run("policies=1000/pods=1000/label-change", func(b *testing.B) {
		ns := newNetns(b)
		be := ns.backend()
		ns.sync(be, base, true)
		states := []State{changed, base}
		var written, i int
		for b.Loop() {
			written = ns.sync(be, states[i%2], false).Written
			i++
		}
		b.ReportMetric(float64(written), "objects-written")
		ns.cleanup(be)
	})
}
