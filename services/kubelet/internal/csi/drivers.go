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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// Timeout bounds each call to a driver (and a registration's node
	// update); zero is Kubernetes' two minutes.
	Timeout time.Duration

	mu      sync.Mutex
	drivers map[string]*registration
	// volumes are the per-volume locks of lockVolume, by driver^handle.
	volumes map[string]*volumeLock
	// onVolumeWait, when set, is called before waiting for a volume's
	// lock (tests see a caller blocked there).
	onVolumeWait func()
}

// registration is a registered driver: its CSI socket, and how many
// registration sockets name it there (it is forgotten when the last goes).
type registration struct {
	endpoint string
	refs     int
	// ready is set once the driver answered NodeGetInfo and the node
	// publishes it; before, its name is reserved but not usable.
	ready bool
}

// Endpoint is the CSI socket of a registered driver.
func (d *Drivers) Endpoint(name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if drv, ok := d.drivers[name]; ok && drv.ready {
		return drv.endpoint, true
	}
	return "", false
}

// ValidatePlugin accepts a driver that speaks CSI 1.x on a unix socket of
// this node, under a name no driver on another socket holds.
func (d *Drivers) ValidatePlugin(name, endpoint string, versions []string) error {
	if _, err := socketPath(endpoint); err != nil {
		return fmt.Errorf("RegisterPlugin for CSI driver %q failed: %w", name, err)
	}
	if err := d.taken(name, endpoint); err != nil {
		return err
	}
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

// taken refuses a name registered at another endpoint: Kubernetes'
// kubelet lets a registration replace a driver only with a higher
// version, Skiff's not at all while the first one's socket is there.
func (d *Drivers) taken(name, endpoint string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if drv, ok := d.drivers[name]; ok && drv.endpoint != endpoint {
		return fmt.Errorf("RegisterPlugin for CSI driver %q failed. Another driver with the same name is already registered at %q", name, drv.endpoint)
	}
	return nil
}

// RegisterPlugin records the driver and publishes its NodeGetInfo.
func (d *Drivers) RegisterPlugin(ctx context.Context, name, endpoint string, _ []string) error {
	if err := d.reserve(name, endpoint); err != nil {
		return err
	}
	ctx, cancel := d.callContext(ctx)
	defer cancel()
	info, err := d.nodeGetInfo(ctx, endpoint)
	if err == nil && d.NodeInfo != nil {
		err = d.NodeInfo.InstallDriver(ctx, name, info)
	}
	if err != nil {
		d.release(name, endpoint)
		return fmt.Errorf("error updating CSI node info for driver %s: %w", name, err)
	}
	d.mu.Lock()
	d.drivers[name].ready = true
	d.mu.Unlock()
	slog.InfoContext(ctx, "CSI driver registered", "driver", name, "endpoint", endpoint, "nodeID", info.GetNodeId())
	return nil
}

// reserve records the driver at endpoint, not yet ready, unless the name
// is taken by another endpoint.
func (d *Drivers) reserve(name, endpoint string) error {
	if err := d.taken(name, endpoint); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.drivers == nil {
		d.drivers = map[string]*registration{}
	}
	drv, ok := d.drivers[name]
	if !ok {
		drv = &registration{endpoint: endpoint}
		d.drivers[name] = drv
	}
	drv.refs++
	return nil
}

// release drops one registration of the driver at endpoint and reports
// whether that was its last.
func (d *Drivers) release(name, endpoint string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	drv, ok := d.drivers[name]
	if !ok || drv.endpoint != endpoint {
		return false
	}
	if drv.refs--; drv.refs > 0 {
		return false
	}
	delete(d.drivers, name)
	return true
}

// DeRegisterPlugin forgets the driver registered at endpoint once no
// registration socket names it, and takes its entry off the node. A
// socket that named the driver at another endpoint changes nothing.
func (d *Drivers) DeRegisterPlugin(ctx context.Context, name, endpoint string) {
	if !d.release(name, endpoint) {
		return
	}
	if d.NodeInfo != nil {
		if err := d.NodeInfo.UninstallDriver(ctx, name); err != nil {
			slog.WarnContext(ctx, "remove the CSI driver from the node", "driver", name, "err", err)
		}
	}
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

// DefaultTimeout bounds a CSI call, as Kubernetes' csiTimeout: one
// driver that hangs must not hold a pod's sync or the plugin watcher.
const DefaultTimeout = 2 * time.Minute

// callContext is the context of one CSI round-trip.
func (d *Drivers) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

// socketPath is the unix socket a CSI endpoint names: an absolute path,
// with or without "unix://". Like Kubernetes' kubelet, Skiff's talks to
// CSI drivers on unix sockets only, never over the network.
func socketPath(endpoint string) (string, error) {
	p := strings.TrimPrefix(endpoint, "unix://")
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("endpoint %q is not the absolute path of a unix socket", endpoint)
	}
	return filepath.Clean(p), nil
}

// dial connects to a CSI socket ("unix:///x", "/x") without blocking.
func dial(endpoint string) (*grpc.ClientConn, error) {
	p, err := socketPath(endpoint)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient("unix://"+p, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
