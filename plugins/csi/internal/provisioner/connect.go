package provisioner

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Connect dials the driver's unix socket and waits, until ctx ends, for
// the driver to answer Probe ready; it returns the connection and the
// driver's name.
func Connect(ctx context.Context, socket string) (*grpc.ClientConn, string, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, "", fmt.Errorf("CSI socket %s: %w", socket, err)
	}
	id := csi.NewIdentityClient(conn)
	var lastErr error
	for {
		if ready, err := probe(ctx, id); err == nil && ready {
			info, err := id.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
			if err == nil {
				return conn, info.GetName(), nil
			}
			lastErr = err
		} else if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			_ = conn.Close()
			return nil, "", fmt.Errorf("the CSI driver at %s is not ready: %w (last error: %v)", socket, ctx.Err(), lastErr)
		case <-time.After(time.Second):
		}
	}
}

func probe(ctx context.Context, id csi.IdentityClient) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := id.Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		return false, err
	}
	// No answer is ready, as the CSI spec says.
	return resp.GetReady() == nil || resp.GetReady().GetValue(), nil
}
