// Package csi is the kubelet's side of the Container Storage Interface:
// the registry of the CSI drivers registered on this node (through the
// plugin watcher), and the CSI Node service calls that stage, publish,
// unpublish and unstage a volume for a pod, with the paths and the
// per-volume record Kubernetes' kubelet keeps.
package csi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// NodeInfo publishes what a driver says of this node: the CSINode entry,
// the Node's csi.volume.kubernetes.io/nodeid annotation and topology
// labels.
type NodeInfo interface {
	InstallDriver(ctx context.Context, driver string, info *csipb.NodeGetInfoResponse) error
	UninstallDriver(ctx context.Context, driver string) error
}

// Drivers is the set of CSI drivers registered on this node. It is the
// plugin watcher's handler for plugins of type CSIPlugin.
type Drivers struct {
	// Root is the kubelet's --root-dir.
	Root string
	// NodeInfo may be nil (no API updates, in tests).
	NodeInfo NodeInfo

	mu      sync.Mutex
	drivers map[string]string // name → endpoint
}

// Endpoint is the CSI socket of a registered driver.
func (d *Drivers) Endpoint(name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, ok := d.drivers[name]
	return ep, ok
}

// ValidatePlugin accepts a driver that speaks CSI 1.x.
func (d *Drivers) ValidatePlugin(name, endpoint string, versions []string) error {
	if len(versions) == 0 {
		return fmt.Errorf("RegisterPlugin for CSI driver %q failed. Plugin returned an empty list for supported versions", name)
	}
	for _, v := range versions {
		if major(v) == 1 {
			return nil
		}
	}
	return fmt.Errorf("RegisterPlugin for CSI driver %q failed. None of the versions specified %q are supported (1.x only)", name, versions)
}

// major is the major version of "v1.2.3" or "1.2.3", -1 if none.
func major(v string) int {
	v = strings.TrimPrefix(v, "v")
	n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return -1
	}
	return n
}

// RegisterPlugin records the driver and publishes its NodeGetInfo.
func (d *Drivers) RegisterPlugin(ctx context.Context, name, endpoint string, _ []string) error {
	d.mu.Lock()
	if d.drivers == nil {
		d.drivers = map[string]string{}
	}
	d.drivers[name] = endpoint
	d.mu.Unlock()
	info, err := d.nodeGetInfo(ctx, endpoint)
	if err == nil && d.NodeInfo != nil {
		err = d.NodeInfo.InstallDriver(ctx, name, info)
	}
	if err != nil {
		d.forget(name)
		return fmt.Errorf("error updating CSI node info for driver %s: %w", name, err)
	}
	slog.InfoContext(ctx, "CSI driver registered", "driver", name, "endpoint", endpoint, "nodeID", info.GetNodeId())
	return nil
}

// DeRegisterPlugin forgets the driver and takes its entry off the node.
func (d *Drivers) DeRegisterPlugin(ctx context.Context, name, _ string) {
	d.forget(name)
	if d.NodeInfo != nil {
		if err := d.NodeInfo.UninstallDriver(ctx, name); err != nil {
			slog.WarnContext(ctx, "remove the CSI driver from the node", "driver", name, "err", err)
		}
	}
}

func (d *Drivers) forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.drivers, name)
}

func (d *Drivers) nodeGetInfo(ctx context.Context, endpoint string) (*csipb.NodeGetInfoResponse, error) {
	conn, err := dial(endpoint)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	info, err := csipb.NewNodeClient(conn).NodeGetInfo(ctx, &csipb.NodeGetInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("NodeGetInfo: %w", err)
	}
	if info.GetNodeId() == "" {
		return nil, errors.New("NodeGetInfo returned an empty node_id")
	}
	return info, nil
}

// dial connects to a CSI socket ("unix:///x", "/x") without blocking.
func dial(endpoint string) (*grpc.ClientConn, error) {
	target := endpoint
	if !strings.Contains(target, "://") {
		target = "unix://" + target
	}
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
