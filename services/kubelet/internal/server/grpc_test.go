package server

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	grpcstatus "google.golang.org/grpc/status"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/healthz"
)

// token sends a bearer token with every call.
type token string

func (b token) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (token) RequireTransportSecurity() bool { return true }

// TestComponentStatusOverGRPC: the ComponentStatusService answers over
// gRPC on the kubelet's port to the users the apiserver authorizes as for
// the HTTP twins: Statusz for nodes/statusz, Flagz and Configz for
// nodes/configz, by token or client certificate; others are refused.
func TestComponentStatusOverGRPC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := component.NewNodeStatus("kubelet", func() map[string]string { return map[string]string{"port": "10250"} },
		struct{ Kubeconfig string }{"/etc/kubelet.conf"})
	pages, err := st.Handler(ctx, prometheus.NewRegistry(), false)
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	r := &reviewer{
		users: map[string]healthz.User{"status-token": {Name: "status-reader"}, "config-token": {Name: "config-reader"}},
		allow: map[string]bool{"status-reader statusz": true, "config-reader configz": true, "apiserver statusz": true, "apiserver configz": true},
	}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: &fakeRuntime{}, Metrics: pages, Reviewer: r})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, s, nil)
	dial := func(cert *tls.Certificate, tok string) componentv1.ComponentStatusServiceClient {
		tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test server's own certificate
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tc))}
		if tok != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(token(tok)))
		}
		conn, err := grpc.NewClient("passthrough:///"+strings.TrimPrefix(base, "https://"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return componentv1.NewComponentStatusServiceClient(conn)
	}
	calls := map[string]func(context.Context, componentv1.ComponentStatusServiceClient) error{
		"Statusz": func(ctx context.Context, c componentv1.ComponentStatusServiceClient) error {
			resp, err := c.Statusz(ctx, &componentv1.StatuszRequest{})
			if err == nil && resp.GetComponent() != "kubelet" {
				t.Errorf("Statusz: got %v, want the kubelet's", resp)
			}
			return err
		},
		"Flagz": func(ctx context.Context, c componentv1.ComponentStatusServiceClient) error {
			resp, err := c.Flagz(ctx, &componentv1.FlagzRequest{})
			if err == nil && resp.GetFlags()["port"] != "10250" {
				t.Errorf("Flagz: got %v, want port 10250", resp)
			}
			return err
		},
		"Configz": func(ctx context.Context, c componentv1.ComponentStatusServiceClient) error {
			resp, err := c.Configz(ctx, &componentv1.ConfigzRequest{})
			if err == nil && resp.GetConfig().GetFields()["Kubeconfig"].GetStringValue() != "/etc/kubelet.conf" {
				t.Errorf("Configz: got %v, want Kubeconfig /etc/kubelet.conf", resp)
			}
			return err
		},
	}
	statusReader, configReader := dial(nil, "status-token"), dial(nil, "config-token")
	withCert, anonymous, forged := dial(&p.client, ""), dial(nil, ""), dial(nil, "forged")
	for _, tc := range []struct {
		name   string
		client componentv1.ComponentStatusServiceClient
		method string
		want   codes.Code
	}{
		{"nodes/statusz reader, Statusz", statusReader, "Statusz", codes.OK},
		{"nodes/statusz reader, Flagz", statusReader, "Flagz", codes.PermissionDenied},
		{"nodes/statusz reader, Configz", statusReader, "Configz", codes.PermissionDenied},
		{"nodes/configz reader, Statusz", configReader, "Statusz", codes.PermissionDenied},
		{"nodes/configz reader, Flagz", configReader, "Flagz", codes.OK},
		{"nodes/configz reader, Configz", configReader, "Configz", codes.OK},
		{"certificate, Statusz", withCert, "Statusz", codes.OK},
		{"certificate, Configz", withCert, "Configz", codes.OK},
		{"anonymous", anonymous, "Statusz", codes.PermissionDenied},
		{"bad token", forged, "Statusz", codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if got := grpcstatus.Code(calls[tc.method](ctx, tc.client)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, a := range r.asked {
		if a.Verb != "get" || a.Resource != "nodes" || a.Name != "n1" || !strings.HasPrefix(a.Path, "/skiff.component.v1.ComponentStatusService/") {
			t.Errorf("asked about %+v, want a get of a nodes subresource of n1 for a gRPC method", a)
		}
	}
}
