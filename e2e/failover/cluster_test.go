// Package failover kills the apiserver a client talks to, among three
// apiservers on one etcd, and checks that the client (pkg/client and
// pkg/informer, as every component uses them) moves to another on its
// own: calls succeed again, watches resume from their last
// resourceVersion without listing again, and no acknowledged write is
// lost. The client finds the apiservers either by the kubeconfig's
// endpoints extension or through a TCP load balancer.
package failover

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"k8s.io/client-go/tools/clientcmd"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

func TestMain(m *testing.M) { framework.Main(m) }

// cluster is one etcd member and three apiservers sharing it and one PKI.
type cluster struct {
	servers []*framework.APIServer
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	etcd := framework.StartEtcdCluster(t, 1)
	first := framework.StartAPIServer(t, "--etcd-servers", strings.Join(etcd.Endpoints(), ","), framework.NoServiceAccounts)
	c := &cluster{servers: []*framework.APIServer{first}}
	for range 2 {
		c.servers = append(c.servers, framework.StartAPIServerPeer(t, first))
	}
	return c
}

// address is host:port of server i.
func (c *cluster) address(i int) string { return fmt.Sprintf("127.0.0.1:%d", c.servers[i].Port) }

// serving is the server at addr, or nil.
func (c *cluster) serving(addr string) *framework.APIServer {
	for i, s := range c.servers {
		if c.address(i) == addr {
			return s
		}
	}
	return nil
}

// endpointsKubeconfig writes an admin kubeconfig whose server is the
// first apiserver and whose endpoints extension names the other two, as
// an operator would write it for components without a load balancer.
func (c *cluster) endpointsKubeconfig(t testing.TB) string {
	t.Helper()
	admin, err := client.FromKubeconfig(c.servers[0].Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(c.servers[0].DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: ha\n  cluster:\n    server: https://%s\n", c.address(0))
	fmt.Fprintf(&b, "    certificate-authority: %s\n", filepath.Join(c.servers[0].DataDir, "pki", "ca.crt"))
	fmt.Fprintf(&b, "    extensions:\n    - name: %s\n      extension:\n        servers: [https://%s, https://%s]\n", client.EndpointsExtension, c.address(1), c.address(2))
	fmt.Fprintf(&b, "users:\n- name: admin\n  user:\n    token: %s\n", admin.Token)
	b.WriteString("contexts:\n- name: ha\n  context:\n    cluster: ha\n    user: admin\ncurrent-context: ha\n")
	path := filepath.Join(t.TempDir(), "ha.kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// client-go (and so kubectl) reads it too, keeping its server.
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("client-go cannot read the kubeconfig with the extension: %v", err)
	}
	if rc.Host != "https://"+c.address(0) || len(ca) == 0 {
		t.Fatalf("client-go reads server %q", rc.Host)
	}
	return path
}

// calls counts a client's calls by method name and remembers the
// address that answered the last one.
type calls struct {
	mu     sync.Mutex
	counts map[string]int
	last   string
}

func newCalls() *calls { return &calls{counts: map[string]int{}} }

func (c *calls) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method]
}

func (c *calls) lastPeer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *calls) note(fullMethod string, p *peer.Peer, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]]++
	if err == nil && p.Addr != nil {
		c.last = p.Addr.String()
	}
}

// options are the dial options that record calls: they run inside the
// client's retries, so each attempt counts.
func (c *calls) options() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			var p peer.Peer
			err := invoke(ctx, method, req, reply, cc, append(opts, grpc.Peer(&p))...)
			c.note(method, &p, err)
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, open grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := open(ctx, desc, cc, method, opts...)
			c.note(method, &peer.Peer{}, err)
			return s, err
		}),
	}
}

// balancer is a TCP load balancer in front of the apiservers, as HAProxy
// or a cloud's would be in mode tcp: each connection goes to the next
// backend that accepts it, and ends when either side ends.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Int64

	mu     sync.Mutex     // guards backends and active
	active map[string]int // open connections by backend
	wg     sync.WaitGroup
}

func startBalancer(t testing.TB, backends []string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, active: map[string]int{}}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() { _ = ln.Close(); b.wg.Wait() })
	return b
}

// balancer is a load balancer in front of all the apiservers.
func (c *cluster) balancer(t testing.TB) *balancer {
	t.Helper()
	all := make([]string, len(c.servers))
	for i := range c.servers {
		all[i] = c.address(i)
	}
	return startBalancer(t, all)
}

// createNamespace creates a namespace of a new name starting with prefix.
func createNamespace(t testing.TB, ctx context.Context, c *client.Client, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: ns}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

func (b *balancer) Address() string { return b.ln.Addr().String() }

// setBackends replaces the backends new connections go to.
func (b *balancer) setBackends(backends []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = backends
}

func (b *balancer) serve() {
	defer b.wg.Done()
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.forward(conn)
		}()
	}
}

// forward connects conn to the first backend, in turn, that accepts.
func (b *balancer) forward(conn net.Conn) {
	defer conn.Close()
	b.mu.Lock()
	backends := b.backends
	b.mu.Unlock()
	start := int(b.next.Add(1))
	for i := range backends {
		backend := backends[(start+i)%len(backends)]
		up, err := net.DialTimeout("tcp", backend, time.Second)
		if err != nil {
			continue
		}
		b.track(backend, 1)
		defer b.track(backend, -1)
		done := make(chan struct{}, 2)
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			done <- struct{}{}
		}
		go pipe(up, conn)
		go pipe(conn, up)
		<-done
		_ = up.Close()
		_ = conn.Close()
		<-done
		return
	}
}

func (b *balancer) track(backend string, d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active[backend] += d
}

// activeBackend is the one backend with open connections (the client
// under test has one connection), or "".
func (b *balancer) activeBackend() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	found := ""
	for backend, n := range b.active {
		if n > 0 {
			if found != "" {
				return ""
			}
			found = backend
		}
	}
	return found
}

// connect is a client of the cluster as admin, through the endpoints
// extension of its kubeconfig or through lb when lb is not nil, with its
// calls recorded. The second result says which apiserver the client
// talks to now.
func connect(t testing.TB, c *cluster, lb *balancer) (*client.Client, *calls, func() string) {
	t.Helper()
	rec := newCalls()
	cfg, err := client.FromKubeconfig(c.endpointsKubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	current := rec.lastPeer
	if lb != nil {
		cfg.Address, cfg.Endpoints = lb.Address(), nil
		current = lb.activeBackend
	}
	cl, err := client.New(cfg, rec.options()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl, rec, current
}
