package registration

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// TestRegistrationSocket plays the kubelet's side over a real socket.
func TestRegistrationSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "local.csi.skiff.dev-reg.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	reg := New("local.csi.skiff.dev", "/var/lib/kubelet/plugins/local.csi.skiff.dev/csi.sock", slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, reg)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := registerapi.NewRegistrationClient(conn)
	ctx := context.Background()

	info, err := c.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetType() != "CSIPlugin" || info.GetName() != "local.csi.skiff.dev" ||
		info.GetEndpoint() != "/var/lib/kubelet/plugins/local.csi.skiff.dev/csi.sock" ||
		!slices.Equal(info.GetSupportedVersions(), []string{"1.0.0"}) {
		t.Fatalf("GetInfo = %v", info)
	}
	for _, tc := range []struct {
		status  *registerapi.RegistrationStatus
		wantErr string
	}{
		{&registerapi.RegistrationStatus{PluginRegistered: false, Error: "version mismatch"}, "version mismatch"},
		{&registerapi.RegistrationStatus{PluginRegistered: true}, ""},
	} {
		if _, err := c.NotifyRegistrationStatus(ctx, tc.status); err != nil {
			t.Fatal(err)
		}
		if ok, msg := reg.Registered(); ok != tc.status.GetPluginRegistered() || msg != tc.wantErr {
			t.Fatalf("after %v: registered %t %q", tc.status, ok, msg)
		}
	}
}
