package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"skiff.dev/pkg/component"
	"skiff.dev/plugins/csi/internal/driver"
)

// options are the driver's flags.
type options struct {
	component.Observability
	Endpoint        string
	KubeletEndpoint string
	RegistrationDir string
	NodeID          string
	DataDir         string
	Capacity        string
	MaxVolumes      int64
	CallLog         string
	capacityBytes   int64
}

func defaultOptions() *options {
	return &options{
		Observability:   component.DefaultObservability(),
		Endpoint:        "/var/lib/kubelet/plugins/" + driver.Name + "/csi.sock",
		RegistrationDir: "/var/lib/kubelet/plugins_registry",
		NodeID:          os.Getenv("NODE_NAME"),
		DataDir:         "/var/lib/skiff-csi-local",
	}
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	o.Observability.AddFlags(fs)
	fs.StringVar(&o.Endpoint, "endpoint", o.Endpoint, "Unix socket the CSI services are served on.")
	fs.StringVar(&o.KubeletEndpoint, "kubelet-endpoint", o.KubeletEndpoint, "The CSI socket's path as the kubelet sees it, given to the kubelet at registration (default --endpoint).")
	fs.StringVar(&o.RegistrationDir, "registration-dir", o.RegistrationDir, "The kubelet's plugins_registry directory, where the registration socket "+driver.Name+"-reg.sock is served; empty serves none.")
	fs.StringVar(&o.NodeID, "node-id", o.NodeID, "This node's name: the CSI node ID and the value of the topology key "+driver.TopologyKey+" (default $NODE_NAME).")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory holding a directory per volume.")
	fs.StringVar(&o.Capacity, "capacity", o.Capacity, "Bytes all volumes of this node may take together, as a quantity (100Gi); empty: the data directory's free space.")
	fs.Int64Var(&o.MaxVolumes, "max-volumes", o.MaxVolumes, "Volumes that may be published on this node at once, reported to the kubelet; 0 is no limit.")
	fs.StringVar(&o.CallLog, "call-log", o.CallLog, "File to which every CSI call is appended as one JSON line (method, request without secrets, result code); empty logs none.")
}

func (o *options) validate() error {
	if err := o.Observability.Validate(); err != nil {
		return err
	}
	if o.NodeID == "" {
		return errors.New("--node-id (or $NODE_NAME) is required")
	}
	if o.Endpoint == "" || o.DataDir == "" {
		return errors.New("--endpoint and --data-dir are required")
	}
	if o.MaxVolumes < 0 {
		return fmt.Errorf("--max-volumes %d: must not be negative", o.MaxVolumes)
	}
	if o.Capacity != "" {
		q, err := resource.ParseQuantity(o.Capacity)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("--capacity %q: want a positive quantity such as 100Gi", o.Capacity)
		}
		o.capacityBytes = q.Value()
	}
	return nil
}

func (o *options) kubeletEndpoint() string {
	if o.KubeletEndpoint != "" {
		return o.KubeletEndpoint
	}
	return o.Endpoint
}

// version is the module's version as the build recorded it.
func (o *options) version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
