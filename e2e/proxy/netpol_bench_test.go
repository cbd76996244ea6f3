package proxy

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkNetworkPolicyEnforcement measures the time from a NetworkPolicy
// write being accepted by the apiserver to the kernel enforcing it: a
// default-deny policy for a backend pod is created and the client's next
// connection attempts are watched until one is dropped; then the policy
// is deleted and watched until the client gets through again. 1,000 other
// policies select two other pods of the node, the proxy runs with the
// default 1 s min sync period, and each change arrives alone.
func BenchmarkNetworkPolicyEnforcement(b *testing.B) {
	c := newCluster(b, "nftables", "--min-sync-period", benchMinSync.String())
	ctx := context.Background()
	c.policyPods(map[string]string{"target": backendIPs[0], "bg-1": backendIPs[1], "bg-2": backendIPs[2]})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := netpol(fmt.Sprintf("bg-%d", i), map[string]string{"bg": "true"}, ingressOnly)
			p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(int32(1000 + i)))}}}}
			if _, err := c.cs.NetworkingV1().NetworkPolicies("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				b.Errorf("create %s: %v", p.Name, err)
			}
		}()
	}
	wg.Wait()
	to := addr(backendIPs[0], backendPort)
	waitSpread(b, c.client, clientIP, to, backendIPs[:1])

	var enforced, lifted []time.Duration
	last := time.Now()
	for b.Loop() {
		enforced = append(enforced, c.timeChange(&last, func() {
			if _, err := c.cs.NetworkingV1().NetworkPolicies("default").Create(ctx, netpol("deny", map[string]string{"app": "target"}, ingressOnly), metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}, to, false))
		lifted = append(lifted, c.timeChange(&last, func() {
			if err := c.cs.NetworkingV1().NetworkPolicies("default").Delete(ctx, "deny", metav1.DeleteOptions{}); err != nil {
				b.Fatal(err)
			}
		}, to, true))
	}
	report(b, "enforce", enforced)
	report(b, "lift", lifted)
	b.ReportMetric(0, "ns/op")
}

// benchMinSync is the proxy's --min-sync-period in the benchmark.
const benchMinSync = time.Second

// timeChange waits for the min sync period since *last to lapse, makes
// the change, and returns how long until the client's connections to to
// get through (open) or are dropped (!open).
func (c *cluster) timeChange(last *time.Time, change func(), to string, open bool) time.Duration {
	c.t.Helper()
	// Pacing, not waiting for a condition: the change must not fall into
	// the proxy's rate limit, or the sample would measure the limit.
	time.Sleep(time.Until(last.Add(benchMinSync + 200*time.Millisecond)))
	start := time.Now()
	change()
	for {
		// A dropped SYN is seen as a 50 ms timeout; a connection that gets
		// through answers in well under a millisecond.
		try := time.Now()
		cn, _, err := connectWithin(c.client, clientIP, to, 50*time.Millisecond)
		if err == nil {
			cn.Close()
		}
		if (err == nil) == open {
			*last = time.Now()
			return try.Sub(start)
		}
		if time.Since(start) > 30*time.Second {
			c.t.Fatalf("the policy change never took effect on %s (want open %v)", to, open)
		}
	}
}

// policyPods makes pods of this node with the given addresses (the
// backends' namespace plays them; no kubelet runs), labelled app=<name>
// and, but the target, bg=true.
func (c *cluster) policyPods(ips map[string]string) {
	c.t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := c.cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create the default ServiceAccount: %v", err)
	}
	for name, ip := range ips {
		labels := map[string]string{"app": name}
		if name != "target" {
			labels["bg"] = "true"
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
				Name: "web", Image: "registry.skiff.local/testserver:1.0",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: backendPort}},
			}}},
		}
		created, err := c.cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			c.t.Fatalf("create pod %s: %v", name, err)
		}
		created.Status.Phase = corev1.PodRunning
		created.Status.PodIP = ip
		created.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		if _, err := c.cs.CoreV1().Pods("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			c.t.Fatalf("set pod %s's address: %v", name, err)
		}
	}
}

func report(b *testing.B, what string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) float64 { return ds[int(p*float64(len(ds)-1))].Seconds() }
	b.ReportMetric(pct(0.5), what+"-p50-s")
	b.ReportMetric(pct(0.99), what+"-p99-s")
}
