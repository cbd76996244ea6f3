// Package driver is Skiff's local CSI driver, local.csi.skiff.dev: the
// CSI Identity, Controller and Node services over one gRPC server, each
// volume a directory on the node it was created on.
package driver

import (
	"github.com/container-storage-interface/spec/lib/go/csi"

	"skiff.dev/plugins/csi/internal/volumes"
)

const (
	// Name is the driver's CSI name.
	Name = "local.csi.skiff.dev"
	// TopologyKey is the topology segment naming the node a volume is on.
	TopologyKey = "topology.local.csi.skiff.dev/node"
	// DefaultVolumeBytes is the size of a volume whose request names none.
	DefaultVolumeBytes = 1 << 30
)

// Config is what the driver is told at start.
type Config struct {
	// NodeID is the node's name: node ID and topology value.
	NodeID string
	// Version is reported by GetPluginInfo.
	Version string
	// MaxVolumes is the node's limit of published volumes; 0 is none.
	MaxVolumes int64
}

// Driver serves the three CSI services for the volumes of one store.
type Driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	cfg   Config
	store *volumes.Store
	ready func() bool
	locks volumeLocks
}

// New returns a driver over store.
func New(cfg Config, store *volumes.Store) *Driver {
	return &Driver{cfg: cfg, store: store, ready: func() bool { return true }}
}

// topology is the accessible topology of every volume of this node.
func (d *Driver) topology() *csi.Topology {
	return &csi.Topology{Segments: map[string]string{TopologyKey: d.cfg.NodeID}}
}
