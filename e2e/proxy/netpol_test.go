package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

// policySyncPeriod is how soon a policy change must be enforced. The
// proxy's --sync-period in these tests is far longer (policyFullResync),
// so the incremental path has to do it: a periodic full resync cannot
// hide its bugs.
const (
	policySyncPeriod = 10 * time.Second
	policyFullResync = 10 * time.Minute
)

// errTimedOut is what get returns when the request timed out, as a
// dropped SYN does; a refused connection or a missing container is
// another error.
var errTimedOut = errors.New("timed out")

// podNode is a node in a test-made namespace with containerd, the kubelet
// and the proxy enforcing NetworkPolicies, and pods on its bridge.
type podNode struct {
	t   testing.TB
	cs  *kubernetes.Clientset
	ctd *framework.Containerd
	ns  *framework.Netns
	ips map[string]string // pod name → IP
}

const policyNode = "policy-node"

func newPodNode(t testing.TB, proxyFlags ...string) *podNode {
	framework.NeedNetns(t)
	srv := framework.StartAPIServer(t)
	cs, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := &podNode{t: t, cs: cs, ns: framework.NewNetns(t, "skp-polnode"), ips: map[string]string{}}
	n.ns.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	// Pods on one bridge reach each other through the IP forward hook
	// only when bridged frames are handed to it.
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		t.Skip("br_netfilter not loaded: bridged traffic would bypass the policy rules")
	}
	n.ns.Run("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
	n.ctd = framework.StartContainerdIn(t, n.ns)
	// It makes the namespace's default ServiceAccount, which pods need.
	framework.StartControllerManager(t, srv)
	flags := append([]string{"--hostname-override", policyNode, "--cluster-cidr", n.ctd.Subnet().String(),
		"--min-sync-period", "100ms", "--sync-period", policyFullResync.String(),
		"--healthz-bind-address", "", "--metrics-bind-address", ""}, proxyFlags...)
	framework.StartProxy(t, n.ns, framework.ForwardAPIServer(t, srv, n.ns, "proxy"), flags...)
	framework.StartKubelet(t, srv, n.ctd, policyNode)
	return n
}

// pod runs a testserver pod with the labels: its web container serves
// port 8080, named http, and its alt container port 9090, named alt.
func (n *podNode) pod(name string, labels map[string]string) {
	n.t.Helper()
	ctx := context.Background()
	server := func(cname string, port int32, portName string) corev1.Container {
		return corev1.Container{
			Name: cname, Image: "registry.skiff.local/testserver:1.0", ImagePullPolicy: corev1.PullNever,
			Args:  []string{"-listen", fmt.Sprintf(":%d", port)},
			Ports: []corev1.ContainerPort{{Name: portName, ContainerPort: port}},
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName: policyNode, TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers: []corev1.Container{server("web", 8080, "http"), server("alt", 9090, "alt")},
		},
	}
	framework.Eventually(n.t, time.Minute, "create pod "+name, func() error {
		_, err := n.cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		return err
	})
	// Delete the pod while the kubelet still runs, so it stops it.
	n.t.Cleanup(func() { _ = n.cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}) })
}

// waitRunning waits for the pods' containers and addresses.
func (n *podNode) waitRunning(names ...string) {
	ctx := context.Background()
	for _, name := range names {
		framework.Eventually(n.t, 2*time.Minute, name+" running with an address", func() error {
			p, err := n.cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
				return fmt.Errorf("phase %s, IP %q", p.Status.Phase, p.Status.PodIP)
			}
			n.ips[name] = p.Status.PodIP
			return nil
		})
	}
}

// get fetches http://<to's IP>:port/ from inside from's web container and
// returns the answer (the testserver's hostname, the pod's name).
func (n *podNode) get(from, to string, port int) (string, error) {
	ctx := context.Background()
	resp, err := n.ctd.RuntimeClient().ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{"io.kubernetes.pod.name": from, "io.kubernetes.container.name": "web"},
	}})
	if err != nil {
		return "", err
	}
	if len(resp.GetContainers()) != 1 {
		return "", fmt.Errorf("%s: got %d running web containers, want 1", from, len(resp.GetContainers()))
	}
	url := fmt.Sprintf("http://%s:%d/", n.ips[to], port)
	out, err := n.ctd.RuntimeClient().ExecSync(ctx, &runtimeapi.ExecSyncRequest{
		ContainerId: resp.GetContainers()[0].GetId(), Cmd: []string{"get", url}, Timeout: 10})
	if err != nil {
		return "", err
	}
	if out.GetExitCode() != 0 {
		err := fmt.Errorf("get %s from %s: exit %d: %s", url, from, out.GetExitCode(), out.GetStderr())
		if stderr := string(out.GetStderr()); strings.Contains(stderr, "Client.Timeout exceeded") || strings.Contains(stderr, "i/o timeout") {
			err = fmt.Errorf("%w: %w", errTimedOut, err)
		}
		return "", err
	}
	return strings.TrimSpace(string(out.GetStdout())), nil
}

// reachable waits until from reaches to:port (and the answer is to's).
func (n *podNode) reachable(from, to string, port int, within time.Duration) {
	n.t.Helper()
	framework.Eventually(n.t, within, fmt.Sprintf("%s reaches %s:%d", from, to, port), func() error {
		got, err := n.get(from, to, port)
		if err == nil && got != to {
			return fmt.Errorf("got an answer from %q, want %q", got, to)
		}
		return err
	})
}

// blocked waits until from's requests to to:port time out (are dropped);
// an answer or another error (refused, no container) is not blocked.
func (n *podNode) blocked(from, to string, port int, within time.Duration) {
	n.t.Helper()
	framework.Eventually(n.t, within, fmt.Sprintf("%s blocked from %s:%d", from, to, port), func() error {
		got, err := n.get(from, to, port)
		switch {
		case err == nil:
			return fmt.Errorf("got an answer %q", got)
		case !errors.Is(err, errTimedOut):
			return fmt.Errorf("got %w, want a timeout", err)
		}
		return nil
	})
}

// stillBlocked checks, once, that from's request to to:port times out.
func (n *podNode) stillBlocked(from, to string, port int) {
	n.t.Helper()
	got, err := n.get(from, to, port)
	switch {
	case err == nil:
		n.t.Errorf("%s reached %s:%d (answer %q), want it blocked", from, to, port, got)
	case !errors.Is(err, errTimedOut):
		n.t.Errorf("%s to %s:%d: got %v, want a timeout (dropped)", from, to, port, err)
	}
}

func (n *podNode) apply(p *networkingv1.NetworkPolicy) {
	n.t.Helper()
	ctx := context.Background()
	if _, err := n.cs.NetworkingV1().NetworkPolicies("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		n.t.Fatalf("create NetworkPolicy %s: %v", p.Name, err)
	}
	n.t.Cleanup(func() { _ = n.cs.NetworkingV1().NetworkPolicies("default").Delete(ctx, p.Name, metav1.DeleteOptions{}) })
}

func (n *podNode) remove(name string) {
	n.t.Helper()
	if err := n.cs.NetworkingV1().NetworkPolicies("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		n.t.Fatalf("delete NetworkPolicy %s: %v", name, err)
	}
}

func (n *podNode) relabel(pod string, labels map[string]string) {
	n.t.Helper()
	ctx := context.Background()
	p, err := n.cs.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	p.Labels = labels
	if _, err := n.cs.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		n.t.Fatalf("relabel %s: %v", pod, err)
	}
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
)

func netpol(name string, selector map[string]string, types []networkingv1.PolicyType) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: selector}, PolicyTypes: types},
	}
}

// TestNetworkPolicy runs real pods (kubelet, containerd, CNI bridge) on a
// node that is a test-made namespace, with the proxy enforcing policies:
// default deny, an allow by label on a named port only, a label change,
// removal, and an egress policy to an ipBlock.
func TestNetworkPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	n := newPodNode(t)
	n.pod("server", map[string]string{"app": "server"})
	n.pod("client", map[string]string{"name": "client", "role": "client"})
	n.pod("other", map[string]string{"name": "other", "role": "other"})
	n.waitRunning("server", "client", "other")
	n.reachable("client", "server", 8080, time.Minute)
	n.reachable("client", "server", 9090, time.Minute) // so its block below is the policy's
	n.reachable("other", "server", 8080, time.Minute)

	n.apply(netpol("deny", nil, ingressOnly))
	n.blocked("client", "server", 8080, policySyncPeriod)
	n.stillBlocked("other", "server", 8080)

	allow := netpol("allow-client-http", map[string]string{"app": "server"}, ingressOnly)
	allow.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
		From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromString("http"))}},
	}}
	n.apply(allow)
	n.reachable("client", "server", 8080, policySyncPeriod)
	n.stillBlocked("client", "server", 9090) // the named port only
	n.stillBlocked("other", "server", 8080)  // role=client only

	n.relabel("other", map[string]string{"name": "other", "role": "client"})
	n.reachable("other", "server", 8080, policySyncPeriod)

	n.remove("deny")
	n.remove("allow-client-http")
	n.reachable("client", "server", 9090, policySyncPeriod)
	n.reachable("other", "server", 8080, policySyncPeriod)

	out := netpol("client-to-server-only", map[string]string{"name": "client"}, egressOnly)
	out.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
		To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: n.ips["server"] + "/32"}}},
	}}
	n.apply(out)
	n.blocked("client", "other", 8080, policySyncPeriod)
	n.reachable("client", "server", 9090, policySyncPeriod)
	n.reachable("other", "client", 8080, policySyncPeriod) // egress only: client still accepts

	n.remove("client-to-server-only")
	n.reachable("client", "other", 8080, policySyncPeriod)
}

// TestNetworkPolicyKeepsEstablished checks that a policy isolating a pod
// leaves its established connections alone while new ones are dropped,
// and that the node's own traffic to the pod still passes. The pod's
// address lives on a namespace behind a veth (no kubelet runs).
func TestNetworkPolicyKeepsEstablished(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	c := newCluster(t, "nftables")
	c.policyPods(map[string]string{"target": backendIPs[0]})
	to := addr(backendIPs[0], backendPort)
	waitSpread(t, c.client, clientIP, to, backendIPs[:1])
	// The connection must start once the table is in: the kernel tracks
	// connections in a namespace only while a rule there needs it.
	framework.Eventually(t, policySyncPeriod, "the policy table", func() error {
		_, err := c.node.Try("nft", "list", "table", "inet", "skiff-netpol")
		return err
	})
	open, _, err := connect(c.client, clientIP, to)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()

	deny := netpol("deny", map[string]string{"app": "target"}, ingressOnly)
	if _, err := c.cs.NetworkingV1().NetworkPolicies("default").Create(context.Background(), deny, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, policySyncPeriod, "the isolated pod in the ingress dispatch map", func() error {
		_, err := c.node.Try("nft", "get", "element", "inet", "skiff-netpol", "ingress-pods", "{", backendIPs[0], "}")
		return err
	})
	cn, _, err := connectWithin(c.client, clientIP, to, time.Second)
	if err == nil {
		cn.Close()
	}
	if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a new connection to the isolated pod: got %v, want a timeout (dropped)", err)
	}
	if got, err := open.echo("still there"); err != nil || got != backendIPs[0]+": still there" {
		t.Errorf("the established connection: got %q, %v; want its echo", got, err)
	}
	if _, err := dial(c.node, nodeIP, to); err != nil {
		t.Errorf("the node's own connection to the isolated pod: %v", err)
	}
}
