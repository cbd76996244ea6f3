package netpol

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"sigs.k8s.io/knftables"

	networkingv1 "skiff.dev/api/networking/v1"
)

// TestUniqueIPs checks which of two cached pods sharing an address keeps
// it, whatever order the cache lists them in, and that the collision is
// logged.
func TestUniqueIPs(t *testing.T) {
	stale := Pod{Namespace: "ns", Name: "a-old", IP: "10.244.1.2", Deleting: true, Running: true}
	fresh := Pod{Namespace: "ns", Name: "z-new", IP: "10.244.1.2", Running: true}
	pending := Pod{Namespace: "ns", Name: "b-pending", IP: "10.244.1.2"}
	other := Pod{Namespace: "ns", Name: "other", IP: "10.244.1.3", Running: true}
	tests := []struct {
		name string
		pods []Pod
		want string // the pod kept for 10.244.1.2
	}{
		{"deleting first", []Pod{stale, other, fresh}, "ns/z-new"},
		{"deleting last", []Pod{fresh, other, stale}, "ns/z-new"},
		{"pending and running", []Pod{pending, fresh}, "ns/z-new"},
		{"deleting and pending", []Pod{stale, pending}, "ns/b-pending"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		got := UniqueIPs(tt.pods, slog.New(slog.NewTextHandler(&buf, nil)))
		var kept []string
		for _, p := range got {
			if p.IP == "10.244.1.2" {
				kept = append(kept, p.key())
			}
		}
		if len(kept) != 1 || kept[0] != tt.want {
			t.Errorf("%s: got %v kept for 10.244.1.2, want [%s]", tt.name, kept, tt.want)
		}
		if !strings.Contains(buf.String(), "pods share an address") {
			t.Errorf("%s: got log %q, want the collision logged", tt.name, buf.String())
		}
	}
}

// TestRenderDispatchAfterUniqueIPs checks that the dispatch element of a
// reused address leads to the live pod's chain, whichever order the cache
// lists the two pods in.
func TestRenderDispatchAfterUniqueIPs(t *testing.T) {
	stale := Pod{Namespace: "default", Name: "old", Node: node, IP: "10.244.1.2", Deleting: true, Labels: map[string]string{"app": "old"}}
	fresh := Pod{Namespace: "default", Name: "new", Node: node, IP: "10.244.1.2", Running: true, Labels: map[string]string{"app": "new"}}
	policies := []*networkingv1.NetworkPolicy{
		policy("default", "old", &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "old")}),
		policy("default", "new", &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "new")}),
	}
	want := "add element inet skiff-netpol " + mapIngressPods + " { 10.244.1.2 : goto " + podChain("default/new", dirIngress) + " }"
	for _, pods := range [][]Pod{{stale, fresh}, {fresh, stale}} {
		st := State{Pods: UniqueIPs(pods, slog.New(slog.DiscardHandler)), Namespaces: testNamespaces, Policies: policies}
		tx := knftables.NewFake(Family, Table).NewTransaction()
		Render(node, st).Full(tx, nil)
		if got := tx.String(); !strings.Contains(got, want) || strings.Contains(got, podChain("default/old", dirIngress)) {
			t.Errorf("pods %s, %s: got\n%s\nwant the element %q and no chain for the old pod", pods[0].Name, pods[1].Name, got, want)
		}
	}
}
