package main

import (
	"os"

	"skiff.dev/pkg/containerdconf"
)

const (
	containerdConfigPath = "/etc/containerd/config.toml"
	cniConfDir           = "/etc/cni/net.d"
	cniBinDir            = "/usr/lib/cni"
)

// writeContainerdConfig writes containerd's configuration, with the
// registry mirrors.
func writeContainerdConfig(o *options) error {
	if err := os.MkdirAll("/etc/containerd", 0o755); err != nil {
		return err
	}
	return containerdconf.Write(containerdConfigPath, containerdconf.Config{
		Root:         o.containerdRoot(),
		State:        "/run/containerd",
		Address:      containerdSocket,
		SandboxImage: o.SandboxImage,
		CNIBinDir:    cniBinDir,
		CNIConfDir:   cniConfDir,
		Mirrors:      o.RegistryMirrors,
	})
}
