package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const dnsPods = `apiVersion: v1
kind: Pod
metadata: {name: cluster-first}
spec:
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Pod
metadata: {name: host-dns}
spec:
  dnsPolicy: Default
  dnsConfig:
    searches: [extra.example]
    options: [{name: ndots, value: "2"}]
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Pod
metadata: {name: own-dns}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.53, 198.51.100.53]
    searches: [one.example, two.example]
    options: [{name: ndots, value: "1"}, {name: edns0}]
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Pod
metadata: {name: member}
spec:
  hostname: web-0
  subdomain: web
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Pod
metadata: {name: fqdn}
spec:
  hostname: web-1
  subdomain: web
  setHostnameAsFQDN: true
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Pod
metadata: {name: fqdn-too-long}
spec:
  hostname: a-hostname-long-enough-to-overflow-the-kernel-field
  subdomain: web
  setHostnameAsFQDN: true
  containers: [{name: c, image: registry.skiff.local/testserver:1.0, command: [sleep, infinity]}]
`

// TestPodDNS: a kubelet with --cluster-dns, --cluster-domain and
// --resolv-conf gives each pod the resolv.conf of its dnsPolicy
// (ClusterFirst, Default with dnsConfig merged in, None with only its
// dnsConfig), the hosts file and hostname of its hostname and subdomain
// (the FQDN as hostname with setHostnameAsFQDN), and refuses a sandbox
// whose FQDN does not fit the kernel, with Kubernetes' event.
func TestPodDNS(t *testing.T) {
	cl := startCluster(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 10.89.0.1\nsearch lab.example\noptions ndots:0 timeout:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a",
		"--cluster-dns", "10.96.0.10", "--cluster-domain", "cluster.local", "--resolv-conf", resolv)
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, dnsPods)
	ids := map[string]string{}
	for _, name := range []string{"cluster-first", "host-dns", "own-dns", "member", "fqdn"} {
		framework.Eventually(t, 90*time.Second, name+" running", func() error {
			p := getPod(t, c, name)
			if p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
			}
			ids[name] = strings.TrimPrefix(containerStatus(p).GetContainerId(), "containerd://")
			return nil
		})
	}
	read := func(pod string, cmd ...string) string {
		t.Helper()
		out, code := execIn(t, cl.ctd, ids[pod], cmd...)
		if code != 0 {
			t.Errorf("%s: %v exited %d: %s", pod, cmd, code, out)
		}
		return out
	}
	resolvWant := map[string]string{
		"cluster-first": "search default.svc.cluster.local svc.cluster.local cluster.local lab.example\nnameserver 10.96.0.10\noptions ndots:5\n",
		"host-dns":      "search lab.example extra.example\nnameserver 10.89.0.1\noptions ndots:2 timeout:2\n",
		"own-dns":       "search one.example two.example\nnameserver 192.0.2.53\nnameserver 198.51.100.53\noptions ndots:1 edns0\n",
	}
	for pod, want := range resolvWant {
		if got := read(pod, "cat", "/etc/resolv.conf"); got != want {
			t.Errorf("%s: /etc/resolv.conf\n%q\nwant\n%q", pod, got, want)
		}
	}
	checkHostnames(t, c, read)
	waitEvents(t, c, "involvedObject.name=fqdn-too-long", "FailedCreatePodSandBox")
	checkFQDNEvent(t, c)
}

// checkHostnames checks the hosts files and hostnames of the pods with a
// subdomain.
func checkHostnames(t *testing.T, c *client.Client, read func(string, ...string) string) {
	t.Helper()
	for _, tt := range []struct{ pod, host, hostname string }{
		{"member", "web-0", "web-0"},
		{"fqdn", "web-1", "web-1.web.default.svc.cluster.local"},
	} {
		ip := getPod(t, c, tt.pod).GetStatus().GetPodIp()
		line := fmt.Sprintf("\n%s\t%s.web.default.svc.cluster.local\t%s\n", ip, tt.host, tt.host)
		if hosts := read(tt.pod, "cat", "/etc/hosts"); !strings.HasPrefix(hosts, "# Kubernetes-managed hosts file.\n") || !strings.HasSuffix(hosts, line) {
			t.Errorf("%s: /etc/hosts\n%s\nwant the managed file ending in %q", tt.pod, hosts, line)
		}
		if got := strings.TrimSpace(read(tt.pod, "hostname")); got != tt.hostname {
			t.Errorf("%s: hostname %q, want %q", tt.pod, got, tt.hostname)
		}
	}
}

// checkFQDNEvent checks the message of the event of a pod whose FQDN is
// too long, and that the pod stays Pending without containers.
func checkFQDNEvent(t *testing.T, c *client.Client) {
	t.Helper()
	list, err := c.CoreV1().Events("default").List(context.Background(), client.ListOptions{FieldSelector: "involvedObject.name=fqdn-too-long,reason=FailedCreatePodSandBox"})
	if err != nil || len(list.GetItems()) == 0 {
		t.Fatalf("list the pod's FailedCreatePodSandBox events: %v, %d", err, len(list.GetItems()))
	}
	fqdn := "a-hostname-long-enough-to-overflow-the-kernel-field.web.default.svc.cluster.local"
	want := fmt.Sprintf("Failed to create pod sandbox: failed to construct FQDN from pod hostname and cluster domain, FQDN %s is too long (64 characters is the max, %d characters requested)", fqdn, len(fqdn))
	if ev := list.GetItems()[0]; ev.GetMessage() != want || ev.GetType() != "Warning" {
		t.Errorf("event %s %q, want Warning %q", ev.GetType(), ev.GetMessage(), want)
	}
	if p := getPod(t, c, "fqdn-too-long"); p.GetStatus().GetPhase() != "Pending" {
		t.Errorf("fqdn-too-long: phase %s, want Pending", p.GetStatus().GetPhase())
	}
}
