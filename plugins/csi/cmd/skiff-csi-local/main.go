// Command skiff-csi-local is Skiff's local CSI driver, local.csi.skiff.dev:
// each volume is a directory under --data-dir on the node that created it.
// It serves the CSI Identity, Controller and Node services on --endpoint
// and registers itself with the kubelet through the plugin-registration
// socket in --registration-dir, as node-driver-registrar does.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"skiff.dev/pkg/component"
	"skiff.dev/plugins/csi/internal/calllog"
	"skiff.dev/plugins/csi/internal/driver"
	"skiff.dev/plugins/csi/internal/registration"
	"skiff.dev/plugins/csi/internal/volumes"
)

func main() {
	opts := defaultOptions()
	component.Main("skiff-csi-local", opts, func(ctx context.Context) error { return run(ctx, opts) })
}

func run(ctx context.Context, o *options) error {
	if err := o.validate(); err != nil {
		return err
	}
	flush, err := o.Observability.Setup(ctx, "skiff-csi-local")
	if err != nil {
		return err
	}
	defer flush()
	store, err := volumes.Open(o.DataDir, o.capacityBytes)
	if err != nil {
		return err
	}
	d := driver.New(driver.Config{NodeID: o.NodeID, Version: o.version(), MaxVolumes: o.MaxVolumes}, store)
	var interceptors []grpc.UnaryServerInterceptor
	if o.CallLog != "" {
		f, err := os.OpenFile(o.CallLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--call-log: %w", err)
		}
		defer f.Close()
		interceptors = append(interceptors, calllog.New(f).Interceptor)
	}
	g, ctx := errgroup.WithContext(ctx)
	if err := serve(ctx, g, o.Endpoint, d.NewServer(slog.Default(), interceptors...)); err != nil {
		return err
	}
	slog.Info("serving CSI", "driver", driver.Name, "endpoint", o.Endpoint, "node", o.NodeID, "dataDir", o.DataDir)
	if o.RegistrationDir != "" {
		sock := filepath.Join(o.RegistrationDir, driver.Name+"-reg.sock")
		reg := registration.New(driver.Name, o.kubeletEndpoint(), slog.Default())
		if err := serve(ctx, g, sock, driver.NewRegistrationServer(reg)); err != nil {
			return err
		}
		slog.Info("serving plugin registration", "socket", sock, "endpoint", o.kubeletEndpoint())
	}
	return g.Wait()
}

// serve listens on the unix socket path and serves srv until ctx ends,
// then stops it and removes the socket (so the kubelet sees the plugin go).
func serve(ctx context.Context, g *errgroup.Group, path string, srv *grpc.Server) error {
	l, err := driver.Listen(path)
	if err != nil {
		return err
	}
	g.Go(func() error {
		err := srv.Serve(l)
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-ctx.Done()
		srv.GracefulStop()
		_ = os.Remove(path)
		return nil
	})
	return nil
}
