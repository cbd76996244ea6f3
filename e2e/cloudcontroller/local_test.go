package cloudcontroller

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
)

func TestLocalProvider(t *testing.T) {
	e := setup(t)
	cfg := e.file("cloud.yaml", "zone: zone-a\nregion: region-1\ninstanceType: metal\nloadBalancerPool: ['10.200.0.1-10.200.0.2']\n")
	framework.StartCloudController(t, e.srv, "--cloud-config", cfg, "--leader-elect=false", "--node-monitor-period", "1s")

	t.Run("load balancer addresses", func(t *testing.T) {
		e.t = t
		e.createLB("a")
		e.createLB("b")
		a, b := e.waitIngress("a"), e.waitIngress("b")
		pool := []string{"10.200.0.1", "10.200.0.2"}
		if a == b || !slices.Contains(pool, a) || !slices.Contains(pool, b) {
			t.Fatalf("addresses: got a=%s b=%s, want the two of %v", a, b, pool)
		}
		s, _ := e.service("a")
		if !slices.Contains(s.GetMetadata().GetFinalizers(), finalizer) {
			t.Fatalf("service a's finalizers: got %v, want %s", s.GetMetadata().GetFinalizers(), finalizer)
		}

		// The pool is empty: c waits, and says why.
		e.createLB("c")
		ev := e.waitEvent("c", "SyncLoadBalancerFailed")
		if ev.GetType() != "Warning" || !strings.Contains(ev.GetMessage(), "no free address") {
			t.Fatalf("event about c: got %s %q, want a Warning about the full pool", ev.GetType(), ev.GetMessage())
		}
		// A class names another implementation: not ours.
		e.createLB("other", "loadBalancerClass: example.com/other")
		if got := e.ingress("c"); got != "" {
			t.Fatalf("c got %s from a full pool", got)
		}

		// Deleting a waits for its release, then c gets the address.
		e.kubectl("", "delete", "service", "a", "--wait=false")
		e.waitGone("a")
		if got := e.waitIngress("c"); got != a {
			t.Fatalf("c: got %s, want a's released %s", got, a)
		}

		// b stops being a LoadBalancer: its address is released and a
		// Service asking for it gets it.
		e.kubectl("", "patch", "service", "b", "-p", `{"spec":{"type":"ClusterIP"}}`)
		framework.Eventually(t, wait, "b loses its address and finalizer", func() error {
			s, err := e.service("b")
			if err != nil {
				return err
			}
			if ingressOf(s) != "" || slices.Contains(s.GetMetadata().GetFinalizers(), finalizer) {
				return fmt.Errorf("ingress %q, finalizers %v", ingressOf(s), s.GetMetadata().GetFinalizers())
			}
			return nil
		})
		e.createLB("d", "loadBalancerIP: "+b)
		if got := e.waitIngress("d"); got != b {
			t.Fatalf("d: got %s, want its requested %s", got, b)
		}
		s, _ = e.service("other")
		if ingressOf(s) != "" || len(s.GetMetadata().GetFinalizers()) > 0 {
			t.Fatalf("service with another class: got ingress %q, finalizers %v, want neither", ingressOf(s), s.GetMetadata().GetFinalizers())
		}
		out := e.kubectl("", "get", "service", "d")
		if !strings.Contains(out, b) {
			t.Fatalf("kubectl get service d does not show %s:\n%s", b, out)
		}
	})

	t.Run("node initialization", func(t *testing.T) {
		e.t = t
		e.createNode("node-1", "", true, map[string]string{"alpha.kubernetes.io/provided-node-ip": "10.1.2.3"})
		e.waitNode("node-1", "is initialized", func(n *corev1.Node) error {
			if hasTaint(n, uninitializedTaint) {
				return fmt.Errorf("still tainted")
			}
			return nil
		})
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, "node-1")
		if err != nil {
			t.Fatal(err)
		}
		labels := n.GetMetadata().GetLabels()
		if n.GetSpec().GetProviderId() != "local://node-1" || labels["topology.kubernetes.io/zone"] != "zone-a" ||
			labels["topology.kubernetes.io/region"] != "region-1" || labels["node.kubernetes.io/instance-type"] != "metal" {
			t.Fatalf("initialized node: providerID %q, labels %v", n.GetSpec().GetProviderId(), labels)
		}
		var addrs []string
		for _, a := range n.GetStatus().GetAddresses() {
			addrs = append(addrs, a.GetType()+"="+a.GetAddress())
		}
		if strings.Join(addrs, ",") != "InternalIP=10.1.2.3,Hostname=node-1" {
			t.Fatalf("addresses: got %v, want InternalIP=10.1.2.3 and Hostname=node-1", addrs)
		}
	})

	t.Run("volume labels", func(t *testing.T) {
		e.t = t
		// Pinned to node-1 (joined above) by the local CSI driver's key;
		// pinned to a node that joins later by hostname; not pinned; and a
		// zone set by hand, which stays.
		pinned := func(name, key, node, labels string) string {
			return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %s, labels: {%s}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  csi: {driver: local.csi.skiff.dev, volumeHandle: %s}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: %q, operator: In, values: [%s]}]}]}}
---
`, name, labels, name, key, node)
		}
		e.kubectl(pinned("on-node-1", "topology.local.csi.skiff.dev/node", "node-1", "")+
			pinned("on-node-2", "kubernetes.io/hostname", "node-2", "")+
			pinned("by-hand", "kubernetes.io/hostname", "node-1", "topology.kubernetes.io/zone: mine")+`apiVersion: v1
kind: PersistentVolume
metadata: {name: anywhere}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/anywhere}
`, "apply", "-f", "-")
		labelsOf := func(name string) map[string]string {
			out := e.kubectl("", "get", "pv", name, "-o", "go-template={{range $k, $v := .metadata.labels}}{{$k}}={{$v}} {{end}}")
			m := map[string]string{}
			for _, kv := range strings.Fields(out) {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m
		}
		waitLabels := func(name, zone, region string) {
			framework.Eventually(t, wait, "volume "+name+" labelled", func() error {
				l := labelsOf(name)
				if l["topology.kubernetes.io/zone"] != zone || l["topology.kubernetes.io/region"] != region {
					return fmt.Errorf("labels %v", l)
				}
				return nil
			})
		}
		waitLabels("on-node-1", "zone-a", "region-1")
		waitLabels("by-hand", "mine", "region-1")
		e.createNode("node-2", "", false, nil)
		waitLabels("on-node-2", "zone-a", "region-1")
		if l := labelsOf("anywhere"); len(l) != 0 {
			t.Fatalf("a volume pinned to no node got labels %v", l)
		}
	})
}
