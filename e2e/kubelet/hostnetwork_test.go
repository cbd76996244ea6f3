package kubelet

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const hostNetworkPods = `apiVersion: v1
kind: Pod
metadata: {name: on-host}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-listen", "%s:%d"]
    env:
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
---
apiVersion: v1
kind: Pod
metadata: {name: in-pod-network}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
`

// TestHostNetwork: a hostNetwork pod starts in the node's network and UTS
// namespaces (its server answers on the node's address with the node's
// hostname), its pod IP is the node's, in its status and its environment,
// and its /etc/hosts is the node's under Kubernetes' host-network header,
// where a pod-network pod's is kubelet-managed.
func TestHostNetwork(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	nodeIP, port := framework.NodeIP(cl.ctd), framework.FreePort(t)
	cl.apply(t, fmt.Sprintf(hostNetworkPods, nodeIP, port))
	for _, name := range []string{"on-host", "in-pod-network"} {
		framework.Eventually(t, 60*time.Second, name+" running", func() error {
			if p := getPod(t, c, name); p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
			}
			return nil
		})
	}
	p := getPod(t, c, "on-host")
	if ips := p.GetStatus().GetPodIps(); p.GetStatus().GetPodIp() != nodeIP || len(ips) != 1 || ips[0].GetIp() != nodeIP {
		t.Errorf("podIP %q podIPs %v, want the node's %s", p.GetStatus().GetPodIp(), ips, nodeIP)
	}
	host, _ := os.Hostname()
	var body string
	framework.Eventually(t, 20*time.Second, "server on the node's address", func() error {
		var err error
		body, err = tryGet(fmt.Sprintf("http://%s:%d/", nodeIP, port))
		return err
	})
	if strings.TrimSpace(body) != host {
		t.Errorf("the pod's hostname is %q, want the node's %q", strings.TrimSpace(body), host)
	}
	id := strings.TrimPrefix(containerStatus(p).GetContainerId(), "containerd://")
	if env, _ := execIn(t, cl.ctd, id, "env"); !strings.Contains(env, "POD_IP="+nodeIP+"\n") {
		t.Errorf("environment lacks POD_IP=%s:\n%s", nodeIP, env)
	}
	nodeHosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	if hosts, _ := execIn(t, cl.ctd, id, "cat", "/etc/hosts"); hosts != "# Kubernetes-managed hosts file (host network).\n"+string(nodeHosts) {
		t.Errorf("/etc/hosts on the host network:\n%s\nwant the node's under the host-network header", hosts)
	}
	other := getPod(t, c, "in-pod-network")
	id = strings.TrimPrefix(containerStatus(other).GetContainerId(), "containerd://")
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
	if hosts, _ := execIn(t, cl.ctd, id, "cat", "/etc/hosts"); !strings.HasPrefix(hosts, want) ||
		!strings.Contains(hosts, other.GetStatus().GetPodIp()+"\tin-pod-network\n") {
		t.Errorf("/etc/hosts on the pod network:\n%s\nwant it to start %q and name the pod on its IP", hosts, want)
	}
}

// tryGet is httpGet for polling: it returns the error instead of failing.
func tryGet(url string) (string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
