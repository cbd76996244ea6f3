package main

import (
	"errors"
	"os"
	"sort"
	"text/template"
)

const (
	containerdConfigPath = "/etc/containerd/config.toml"
	cniConfDir           = "/etc/cni/net.d"
	cniBinDir            = "/usr/lib/cni"
)

// writeContainerdConfig writes containerd's configuration (version 2, for
// containerd 1.6): CRI with the cgroupfs driver and no CAP_SYS_RESOURCE
// (restrict_oom_score_adj), CNI from cniConfDir, and the registry mirrors.
func writeContainerdConfig(o *options) error {
	if err := os.MkdirAll("/etc/containerd", 0o755); err != nil {
		return err
	}
	type mirror struct{ Host, Endpoint string }
	var mirrors []mirror
	for h, ep := range o.RegistryMirrors {
		mirrors = append(mirrors, mirror{h, ep})
	}
	sort.Slice(mirrors, func(i, j int) bool { return mirrors[i].Host < mirrors[j].Host })
	f, err := os.Create(containerdConfigPath)
	if err != nil {
		return err
	}
	err = containerdConfig.Execute(f, map[string]any{
		"Root":         o.containerdRoot(),
		"Socket":       containerdSocket,
		"SandboxImage": o.SandboxImage,
		"CNIBinDir":    cniBinDir,
		"CNIConfDir":   cniConfDir,
		"Mirrors":      mirrors,
	})
	return errors.Join(err, f.Close())
}

var containerdConfig = template.Must(template.New("config.toml").Parse(`version = 2
root = {{printf "%q" .Root}}
state = "/run/containerd"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = {{printf "%q" .Socket}}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {{printf "%q" .SandboxImage}}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = {{printf "%q" .CNIBinDir}}
  conf_dir = {{printf "%q" .CNIConfDir}}
  max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
{{range .Mirrors}}
[plugins."io.containerd.grpc.v1.cri".registry.mirrors.{{printf "%q" .Host}}]
  endpoint = [{{printf "%q" .Endpoint}}]
{{end}}`))
