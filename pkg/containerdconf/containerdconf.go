// Package containerdconf writes what a node's containerd needs on these
// machines: its configuration (version 2, for containerd 1.6) with CRI
// set up for the cgroupfs driver and no CAP_SYS_RESOURCE, and the CNI
// bridge network of its pods. The e2e framework's private containerds
// and the stack's node image write theirs with it.
package containerdconf

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"sort"
	"text/template"
)

// TestHandler is the runtime handler the Kubernetes conformance suite
// expects every node to have ("preconfigured"): the config registers runc
// under it as well as under runc, so pods of a RuntimeClass with that
// handler run.
const TestHandler = "test-handler"

// handlers are the CRI runtime handlers the config registers, all runc.
var handlers = []string{"runc", TestHandler}

// Config is one containerd's configuration.
type Config struct {
	// Root and State are containerd's persistent and runtime directories.
	Root, State string
	// Address is the gRPC socket; the ttrpc socket is next to it.
	Address string
	// Opt is the opt plugin's directory; empty keeps containerd's default.
	Opt string
	// SandboxImage is the pause image of pod sandboxes.
	SandboxImage string
	// CNIBinDir holds the CNI plugins, CNIConfDir the network's conflist.
	CNIBinDir, CNIConfDir string
	// RuncRoot is runc's state directory; empty keeps runc's default.
	RuncRoot string
	// Mirrors are registries reached elsewhere: host → endpoint URL.
	Mirrors map[string]string
}

// Write writes c to path.
func Write(path string, c Config) error {
	type mirror struct{ Host, Endpoint string }
	var mirrors []mirror
	for h, ep := range c.Mirrors {
		mirrors = append(mirrors, mirror{h, ep})
	}
	sort.Slice(mirrors, func(i, j int) bool { return mirrors[i].Host < mirrors[j].Host })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = config.Execute(f, struct {
		Config
		Mirrors  []mirror
		Handlers []string
	}{c, mirrors, handlers})
	return errors.Join(err, f.Close())
}

var config = template.Must(template.New("config.toml").Parse(`version = 2
root = {{printf "%q" .Root}}
state = {{printf "%q" .State}}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = {{printf "%q" .Address}}

[ttrpc]
  address = {{printf "%q" (print .Address ".ttrpc")}}
{{if .Opt}}
[plugins."io.containerd.internal.v1.opt"]
  path = {{printf "%q" .Opt}}
{{end}}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {{printf "%q" .SandboxImage}}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = {{printf "%q" .CNIBinDir}}
  conf_dir = {{printf "%q" .CNIConfDir}}
  max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"
{{range .Handlers}}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.}}]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.}}.options]
  SystemdCgroup = false
{{- if $.RuncRoot}}
  Root = {{printf "%q" $.RuncRoot}}
{{- end}}
{{end}}{{range .Mirrors}}
[plugins."io.containerd.grpc.v1.cri".registry.mirrors.{{printf "%q" .Host}}]
  endpoint = [{{printf "%q" .Endpoint}}]
{{end}}`))

// Bridge is a CNI network of pods on one Linux bridge.
type Bridge struct {
	// Name is the network's name, Bridge the bridge device's.
	Name, Bridge string
	// Subnet is the pods' addresses (host-local IPAM), the bridge their
	// gateway.
	Subnet netip.Prefix
	// DataDir is where host-local records the addresses it gave out.
	DataDir string
}

// Conflist is the network's CNI configuration list: a bridge plugin with
// hairpin mode (a pod reaches itself through a Service) and no
// masquerading (that is the node's business).
func (b Bridge) Conflist() ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       b.Name,
		"plugins": []any{map[string]any{
			"type":        "bridge",
			"bridge":      b.Bridge,
			"isGateway":   true,
			"ipMasq":      false,
			"hairpinMode": true,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": b.Subnet.Masked().String()}}},
				"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				"dataDir": b.DataDir,
			},
		}},
	}, "", "  ")
}
