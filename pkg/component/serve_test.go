package component

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	componentv1 "skiff.dev/api/component/v1"
)

// cache is a Cache whose readiness the test sets.
type cache struct{ err error }

func (c *cache) WaitForSync(context.Context) bool { return c.err == nil }
func (c *cache) Ready() error                     { return c.err }

// TestHandler: /readyz follows the caches, and the z-pages answer the same
// over HTTP/JSON as over gRPC on the one port.
func TestHandler(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := NewOptions(10259, "kube-scheduler")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs, "Schedule")
	if err := fs.Parse([]string{"--kubeconfig=/k", "--leader-elect-identity=me"}); err != nil {
		t.Fatal(err)
	}
	c := &cache{err: errors.New("Pod informer: list failed: forbidden")}
	st := NewStatus("scheduler", &o, &o, []Cache{c})
	h, err := st.Handler(ctx, prometheus.NewRegistry(), false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := srv.Client()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 500 || !strings.Contains(body, "[-]informer-sync failed: reason withheld") {
		t.Errorf("/readyz before sync: got %d %q, want 500 with the failed check", code, body)
	}
	c.err = nil
	for _, p := range []string{"/readyz", "/healthz"} {
		if code, body := get(p); code != 200 || body != "ok" {
			t.Errorf("%s after sync: got %d %q, want 200 ok", p, code, body)
		}
	}
	st.SetLeading(true)

	conn, err := grpc.NewClient(strings.TrimPrefix(srv.URL, "https://"),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}))) //nolint:gosec // test server
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc := componentv1.NewComponentStatusServiceClient(conn)
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	for _, c := range []struct {
		path string
		call func() (proto.Message, error)
		into proto.Message
	}{
		{"/statusz", func() (proto.Message, error) { return svc.Statusz(cctx, &componentv1.StatuszRequest{}) }, &componentv1.StatuszResponse{}},
		{"/flagz", func() (proto.Message, error) { return svc.Flagz(cctx, &componentv1.FlagzRequest{}) }, &componentv1.FlagzResponse{}},
		{"/configz", func() (proto.Message, error) { return svc.Configz(cctx, &componentv1.ConfigzRequest{}) }, &componentv1.ConfigzResponse{}},
	} {
		code, body := get(c.path)
		if code != 200 {
			t.Fatalf("%s: got %d %s, want 200", c.path, code, body)
		}
		if err := protojson.Unmarshal([]byte(body), c.into); err != nil {
			t.Fatalf("%s: %v in %s", c.path, err, body)
		}
		want, err := c.call()
		if err != nil {
			t.Fatalf("gRPC %s: %v", c.path, err)
		}
		if !proto.Equal(c.into, want) {
			t.Errorf("%s: HTTP got %v, gRPC %v", c.path, c.into, want)
		}
	}
	var s componentv1.StatuszResponse
	_, body := get("/statusz")
	_ = protojson.Unmarshal([]byte(body), &s)
	if !s.GetReady() || !s.GetLeaderElection().GetLeading() || s.GetLeaderElection().GetIdentity() != "me" {
		t.Errorf("/statusz: got %v, want ready, leading, identity me", &s)
	}
	var f componentv1.FlagzResponse
	_, body = get("/flagz")
	_ = protojson.Unmarshal([]byte(body), &f)
	if got := f.GetFlags()["kubeconfig"]; got != "/k" {
		t.Errorf("/flagz kubeconfig: got %q, want /k", got)
	}
}

// TestNodeStatus: a component without an election shows none on
// /statusz, its flags from FlagValues, and is ready only while every cache
// added since its start is.
func TestNodeStatus(t *testing.T) {
	fs := pflag.NewFlagSet("proxy", pflag.ContinueOnError)
	port := fs.Int("port", 1, "")
	if err := fs.Parse([]string{"--port=7"}); err != nil {
		t.Fatal(err)
	}
	st := NewNodeStatus("proxy", func() map[string]string { return FlagValues(fs) }, struct{ Port int }{*port})
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		add   *cache
		ready bool
	}{
		{"no caches yet", nil, true},
		{"a synced cache", &cache{}, true},
		{"a cache whose list fails", &cache{err: errors.New("Node informer: list failed: forbidden")}, false},
	} {
		if c.add != nil {
			st.AddCaches(c.add)
		}
		s, err := st.Statusz(ctx, &componentv1.StatuszRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if s.GetReady() != c.ready || (st.ReadyCheck().Run() == nil) != c.ready || s.GetLeaderElection() != nil || s.GetComponent() != "proxy" {
			t.Errorf("%s: got %v, want ready %v, no leader election", c.name, s, c.ready)
		}
	}
	f, _ := st.Flagz(ctx, &componentv1.FlagzRequest{})
	cz, err := st.Configz(ctx, &componentv1.ConfigzRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if f.GetFlags()["port"] != "7" || cz.GetConfig().GetFields()["Port"].GetNumberValue() != 7 {
		t.Errorf("flagz %v, configz %v: want port 7", f, cz)
	}
}
