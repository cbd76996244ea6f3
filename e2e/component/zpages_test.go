package component

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/e2e/framework"
)

// TestZPages: each component's secure port answers /statusz, /flagz and
// /configz as JSON (through grpc-gateway) to its authorized reader, the
// same as the ComponentStatusService over gRPC on the same port, and
// refuses them to anonymous readers.
func TestZPages(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	for _, c := range []struct {
		name, election string
		start          func(t testing.TB, srv *framework.APIServer, flags ...string) *framework.Process
	}{
		{"scheduler", "kube-scheduler", framework.StartScheduler},
		{"controller-manager", "kube-controller-manager", framework.StartControllerManager},
		{"cloud-controller", "cloud-controller-manager", framework.StartCloudController},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, serve := framework.SecurePort(t)
			c.start(t, srv, append(serve, "--log-level=info")...)
			token := srv.AdminToken()
			status := &componentv1.StatuszResponse{}
			framework.Eventually(t, 60*time.Second, c.name+" is ready and leads", func() error {
				if err := getJSON(addr, "/statusz", token, status); err != nil {
					return err
				}
				if !status.GetReady() || !status.GetLeaderElection().GetLeading() {
					return fmt.Errorf("not ready or not leading: %v", status)
				}
				return nil
			})
			le := status.GetLeaderElection()
			if status.GetComponent() != c.name || le.GetElection() != c.election || !le.GetEnabled() || status.GetStartTime() == nil {
				t.Errorf("/statusz: got %v, want component %s, election %s, enabled, a start time", status, c.name, c.election)
			}
			flagz, configz := zpagesAgree(t, addr, token, status)
			if got, want := flagz.GetFlags()["secure-port"], serve[3]; got != want {
				t.Errorf("/flagz secure-port: got %q, want %q", got, want)
			}
			if got := configz.GetConfig().GetFields()["Kubeconfig"].GetStringValue(); got != srv.ComponentKubeconfig(c.name) {
				t.Errorf("/configz Kubeconfig: got %q, want %q", got, srv.ComponentKubeconfig(c.name))
			}
		})
	}
}

// zpagesAgree reads /flagz and /configz of the secure port addr as token
// and checks that the ComponentStatusService over gRPC on the same port
// answers the same as the three pages (status is /statusz as read
// already); it checks that anonymous readers are refused on both.
func zpagesAgree(t *testing.T, addr, token string, status *componentv1.StatuszResponse) (*componentv1.FlagzResponse, *componentv1.ConfigzResponse) {
	t.Helper()
	flagz := &componentv1.FlagzResponse{}
	if err := getJSON(addr, "/flagz", token, flagz); err != nil {
		t.Fatal(err)
	}
	configz := &componentv1.ConfigzResponse{}
	if err := getJSON(addr, "/configz", token, configz); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/statusz", "/flagz", "/configz"} {
		if code, body, err := framework.GetSecure(addr, path, ""); err != nil || code != 403 {
			t.Errorf("anonymous %s: got %d %.200s %v, want 403", path, code, body, err)
		}
	}
	svc := componentv1.NewComponentStatusServiceClient(dial(t, addr, token))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gs, err := svc.Statusz(ctx, &componentv1.StatuszRequest{})
	if err != nil {
		t.Fatalf("gRPC Statusz: %v", err)
	}
	gf, err := svc.Flagz(ctx, &componentv1.FlagzRequest{})
	if err != nil {
		t.Fatalf("gRPC Flagz: %v", err)
	}
	gc, err := svc.Configz(ctx, &componentv1.ConfigzRequest{})
	if err != nil {
		t.Fatalf("gRPC Configz: %v", err)
	}
	for _, p := range []struct {
		path          string
		http, grpcAns proto.Message
	}{{"/statusz", status, gs}, {"/flagz", flagz, gf}, {"/configz", configz, gc}} {
		if !proto.Equal(p.http, p.grpcAns) {
			t.Errorf("%s: HTTP/JSON and gRPC differ: got %v, want %v", p.path, p.http, p.grpcAns)
		}
	}
	if _, err := componentv1.NewComponentStatusServiceClient(dial(t, addr, "")).Statusz(ctx, &componentv1.StatuszRequest{}); err == nil {
		t.Error("anonymous gRPC Statusz answered, want refused")
	}
	return flagz, configz
}

// getJSON reads path of a secure port as token and decodes it into m.
func getJSON(addr, path, token string, m proto.Message) error {
	code, body, err := framework.GetSecure(addr, path, token)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("GET %s: %d %.300s", path, code, body)
	}
	proto.Reset(m)
	if err := protojson.Unmarshal([]byte(body), m); err != nil {
		return fmt.Errorf("GET %s: decode %.300s: %w", path, body, err)
	}
	return nil
}

// dial connects to a component's secure port over TLS (self-signed, not
// verified), with token as the bearer token unless empty.
func dial(t *testing.T, addr, token string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}))} //nolint:gosec // self-signed test server
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// bearer sends a bearer token with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }
