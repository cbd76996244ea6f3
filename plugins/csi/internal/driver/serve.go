package driver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"skiff.dev/plugins/csi/internal/registration"
)

// Listen opens a unix socket at path, replacing a stale one a previous
// run left behind.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stale socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

// NewServer is the gRPC server of the three CSI services, logging
// failed calls, with extra interceptors (the call log) run first.
func (d *Driver) NewServer(log *slog.Logger, interceptors ...grpc.UnaryServerInterceptor) *grpc.Server {
	logFailures := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			log.Warn("CSI call failed", "method", info.FullMethod, "code", status.Code(err).String(), "error", status.Convert(err).Message())
		} else {
			log.Debug("CSI call", "method", info.FullMethod)
		}
		return resp, err
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(append(interceptors, logFailures)...))
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)
	return srv
}

// NewRegistrationServer is the gRPC server of the kubelet's
// plugin-registration API for this driver.
func NewRegistrationServer(reg *registration.Server) *grpc.Server {
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, reg)
	return srv
}
