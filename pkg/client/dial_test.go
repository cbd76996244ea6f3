package client

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/types/known/emptypb"
)

func writeKubeconfig(t *testing.T, cluster string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n" + cluster +
		"users:\n- name: u\n  user:\n    token: secret\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKubeconfigEndpoints(t *testing.T) {
	path := writeKubeconfig(t, `    server: https://10.0.0.11:6443
    extensions:
    - name: something.else/v1
      extension:
        servers: [https://192.0.2.1:1]
    - name: skiff.dev/apiserver-endpoints
      extension:
        servers: ["https://10.0.0.12:6443", "https://[fd00::13]:6443"]
`)
	cfg, err := FromKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "10.0.0.11:6443" || !slices.Equal(cfg.Endpoints, []string{"10.0.0.12:6443", "[fd00::13]:6443"}) {
		t.Errorf("address %q, endpoints %q", cfg.Address, cfg.Endpoints)
	}
}

func TestKubeconfigBadEndpoint(t *testing.T) {
	path := writeKubeconfig(t, `    server: https://10.0.0.11:6443
    extensions:
    - name: skiff.dev/apiserver-endpoints
      extension:
        servers: ["10.0.0.12"]
`)
	_, err := FromKubeconfig(path)
	if err == nil || !strings.Contains(err.Error(), `extension skiff.dev/apiserver-endpoints: bad server "10.0.0.12"`) {
		t.Errorf("got %v, want the bad server named", err)
	}
}

func TestBadEndpoint(t *testing.T) {
	_, err := New(Config{Address: "127.0.0.1:6443", Endpoints: []string{"127.0.0.1"}})
	if err == nil || !strings.Contains(err.Error(), `apiserver endpoint "127.0.0.1"`) {
		t.Errorf("got %v, want the bad endpoint named", err)
	}
}

// TestEndpointsFailover: a client with two servers keeps answering reads
// when the one it talks to stops, without being told.
func TestEndpointsFailover(t *testing.T) {
	type server struct {
		srv  *retryServer
		grpc *grpc.Server
		addr string
	}
	var servers []*server
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &server{srv: &retryServer{}, addr: ln.Addr().String()}
		s.grpc = grpc.NewServer(grpc.UnknownServiceHandler(s.srv.handle))
		go func() { _ = s.grpc.Serve(ln) }()
		t.Cleanup(s.grpc.Stop)
		servers = append(servers, s)
	}
	c, err := New(Config{Address: servers[0].addr, Endpoints: []string{servers[1].addr}},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get := func() {
		t.Helper()
		if err := c.Conn().Invoke(ctx, "/skiff.test.v1.ThingService/Get", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	get()
	first := slices.IndexFunc(servers, func(s *server) bool { return s.srv.calls.Load() == 1 })
	if first < 0 {
		t.Fatal("no server saw the call")
	}
	servers[first].grpc.Stop()
	get()
	other := servers[1-first]
	if got := other.srv.calls.Load(); got != 1 {
		t.Errorf("the other server saw %d calls, want 1", got)
	}
}

// TestOneNameSeveralAddressesSpreads: clients of one server name that
// resolves to several addresses (as a DNS name with several records
// does) do not all take the first one.
func TestOneNameSeveralAddressesSpreads(t *testing.T) {
	var servers []*retryServer
	var addrs []resolver.Address
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &retryServer{}
		g := grpc.NewServer(grpc.UnknownServiceHandler(s.handle))
		go func() { _ = g.Serve(ln) }()
		t.Cleanup(g.Stop)
		servers = append(servers, s)
		addrs = append(addrs, resolver.Address{Addr: ln.Addr().String()})
	}
	r := manual.NewBuilderWithScheme("several")
	r.InitialState(resolver.State{Addresses: addrs})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 40 {
		c, err := New(Config{Address: "several:///apiserver"}, grpc.WithResolvers(r),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Conn().Invoke(ctx, "/skiff.test.v1.ThingService/Get", &emptypb.Empty{}, &emptypb.Empty{})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range servers {
		if s.calls.Load() == 0 {
			t.Errorf("address %d got none of 40 clients", i)
		}
	}
}
