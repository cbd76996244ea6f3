// Package cri connects the kubelet to a container runtime over the
// Container Runtime Interface (k8s.io/cri-api v1): the runtime and image
// services of one endpoint, with every call a span in the caller's trace.
package cri

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is a container runtime's two CRI services.
type Runtime interface {
	runtimeapi.RuntimeServiceClient
	runtimeapi.ImageServiceClient
}

type remote struct {
	runtimeapi.RuntimeServiceClient
	runtimeapi.ImageServiceClient
}

// Dial connects to a CRI endpoint such as
// unix:///run/containerd/containerd.sock and checks that it answers. The
// returned close func releases the connection.
func Dial(ctx context.Context, endpoint string) (Runtime, func() error, error) {
	if !strings.HasPrefix(endpoint, "unix://") {
		return nil, nil, fmt.Errorf("container runtime endpoint %q: only unix:// endpoints are supported", endpoint)
	}
	conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(endpoint, "unix://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, nil, fmt.Errorf("container runtime endpoint %q: %w", endpoint, err)
	}
	r := remote{runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.Version(vctx, &runtimeapi.VersionRequest{}, grpc.WaitForReady(true)); err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("container runtime at %s does not answer CRI: %w", endpoint, err)
	}
	return r, conn.Close, nil
}
