package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// Addresses of the test topology. The node namespace routes between the
// client (a pod elsewhere), the backends (pods on a pod subnet) and an
// external host on the node's own network.
const (
	clusterCIDR = "10.244.0.0/16"
	clientIP    = "10.244.9.9"
	nodeIP      = "192.168.50.2"
	externalIP  = "192.168.50.9"
	lbPool      = "203.0.113.0/24"
	serviceCIDR = "10.96.0.0/12" // the apiserver's default
	// outside is how the network beyond the node answers a connection.
	outside     = "outside"
	backendPort = 8080
	healthzAddr = "127.0.0.1:10256"
	metricsAddr = "127.0.0.1:10249"
	nodeName    = "node-a"
)

var backendIPs = []string{"10.244.1.5", "10.244.1.6", "10.244.1.7"}

// cluster is one apiserver, one node namespace running the proxy, and the
// namespaces around it.
type cluster struct {
	t                                testing.TB
	mode                             string
	flags                            []string
	srv                              *framework.APIServer
	cs                               *kubernetes.Clientset
	node, client, backends, external *framework.Netns
	kubeconfig                       string
	proxy                            *framework.Process
	traces                           *framework.TraceCollector
}

// newCluster builds the topology and starts the proxy with extra flags.
func newCluster(t testing.TB, mode string, flags ...string) *cluster {
	t.Helper()
	framework.NeedNetns(t)
	tool := map[string]string{"nftables": "nft", "iptables": "iptables-restore"}[mode]
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
	c := &cluster{t: t, mode: mode, flags: flags, srv: framework.StartAPIServer(t)}
	cfg := c.srv.RESTConfig()
	cfg.QPS, cfg.Burst = 500, 500
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cs = cs
	c.node = framework.NewNetns(t, "skp-node")
	c.client = framework.NewNetns(t, "skp-client")
	c.backends = framework.NewNetns(t, "skp-pods")
	c.external = framework.NewNetns(t, "skp-ext")
	framework.Veth(t, c.node, "to-client", []string{"10.244.9.1/24"}, c.client, "eth0", []string{clientIP + "/24"})
	framework.Veth(t, c.node, "to-pods", []string{"10.244.1.1/24"}, c.backends, "eth0", []string{"10.244.1.5/24", "10.244.1.6/24", "10.244.1.7/24"})
	framework.Veth(t, c.node, "to-ext", []string{nodeIP + "/24"}, c.external, "eth0", []string{externalIP + "/24"})
	c.client.Run("ip", "route", "add", "default", "via", "10.244.9.1")
	c.backends.Run("ip", "route", "add", "default", "via", "10.244.1.1")
	c.external.Run("ip", "route", "add", lbPool, "via", nodeIP)
	// A node has a default route; without one, packets to a Service with no
	// endpoints (never DNATed) find no route before the reject rules.
	c.node.Run("ip", "route", "add", "default", "via", externalIP)
	// And the network beyond it answers any TCP connection to the Service
	// range, as a transparent proxy does (the compose stack's host here
	// answers every address): a packet to a ClusterIP that the rules left
	// alone must not leave the node for it. Its answers route back to pods.
	c.external.Run("ip", "route", "add", "local", serviceCIDR, "dev", "lo")
	c.external.Run("ip", "route", "add", clusterCIDR, "via", nodeIP)
	for _, port := range []int{53, 80} {
		go serve(c.external.Listen(fmt.Sprintf("0.0.0.0:%d", port)), outside)
	}
	c.node.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	for _, ip := range backendIPs {
		go serve(c.backends.Listen(fmt.Sprintf("%s:%d", ip, backendPort)), ip)
	}
	c.kubeconfig = framework.ForwardAPIServer(t, c.srv, c.node, "proxy")
	c.traces = framework.StartTraceCollector(t)
	c.flags = append(c.flags, "--otlp-endpoint", framework.ForwardTCP(t, c.node, c.traces.Addr()))
	c.startProxy()
	return c
}

func (c *cluster) startProxy() {
	c.t.Helper()
	flags := append([]string{"--proxy-mode", c.mode, "--hostname-override", nodeName, "--cluster-cidr", clusterCIDR,
		"--min-sync-period", "100ms", "--healthz-bind-address", healthzAddr, "--metrics-bind-address", metricsAddr}, c.flags...)
	c.proxy = framework.StartProxy(c.t, c.node, c.kubeconfig, flags...)
}

// serve answers each connection with name and a newline, then echoes each
// line it reads back as "name: line".
func serve(ln net.Listener, name string) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			fmt.Fprintln(conn, name)
			r := bufio.NewReader(conn)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				fmt.Fprintf(conn, "%s: %s", name, line)
			}
		}()
	}
}

// conn is a connection made from inside a namespace.
type conn struct {
	net.Conn
	r *bufio.Reader
}

// connect dials addr from ns, from source address src, and reads the
// backend's greeting.
func connect(ns *framework.Netns, src, addr string) (*conn, string, error) {
	return connectWithin(ns, src, addr, 3*time.Second)
}

// connectWithin is connect with a dial timeout.
func connectWithin(ns *framework.Netns, src, addr string, timeout time.Duration) (*conn, string, error) {
	var nc net.Conn
	err := ns.Do(func() (err error) {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		nc, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	c := &conn{Conn: nc, r: bufio.NewReader(nc)}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	name, err := c.r.ReadString('\n')
	if err != nil {
		nc.Close()
		return nil, "", fmt.Errorf("read greeting: %w", err)
	}
	return c, strings.TrimSpace(name), nil
}

// echo sends a line and returns the reply.
func (c *conn) echo(line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	reply, err := c.r.ReadString('\n')
	return strings.TrimSpace(reply), err
}

// dial connects, returns who answered, and closes.
func dial(ns *framework.Netns, src, addr string) (string, error) {
	c, name, err := connect(ns, src, addr)
	if err != nil {
		return "", err
	}
	c.Close()
	return name, nil
}

// spread dials n times and counts the answers; any error ends it.
func spread(ns *framework.Netns, src, addr string, n int) (map[string]int, error) {
	seen := map[string]int{}
	for range n {
		name, err := dial(ns, src, addr)
		if err != nil {
			return seen, err
		}
		seen[name]++
	}
	return seen, nil
}

// get fetches http://addr/path from inside the node namespace.
func (c *cluster) get(addr, path string) (int, string, error) {
	return c.fetch("http", addr, path, "")
}

// metrics fetches the proxy's /metrics, over HTTPS (its certificate is
// self-signed) as the admin.
func (c *cluster) metrics() (int, string, error) {
	return c.fetch("https", metricsAddr, "/metrics", c.srv.AdminToken())
}

// fetch gets scheme://addr/path from inside the node namespace, with a
// bearer token unless it is empty. The connection is made on the
// namespace's thread; the HTTP client, whose dials run on other
// goroutines, is handed it.
func (c *cluster) fetch(scheme, addr, path, token string) (int, string, error) {
	var nc net.Conn
	if err := c.node.Do(func() (err error) {
		nc, err = net.DialTimeout("tcp", addr, 3*time.Second)
		return err
	}); err != nil {
		return 0, "", err
	}
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return nc, nil },
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // the proxy's self-signed port
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
