package app

import (
	"path/filepath"

	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/server"
)

// newServer builds the HTTPS server for logs, exec, attach and
// port-forward from the flags; nil when --port is 0.
func newServer(o *Options, node, ip string, rt cri.Runtime) (*server.Server, error) {
	if o.Port == 0 {
		return nil, nil
	}
	return server.New(server.Config{
		Address: o.Address, Port: o.Port, NodeName: node, NodeIP: ip,
		CertFile: o.TLSCertFile, KeyFile: o.TLSPrivateKeyFile, PKIDir: filepath.Join(o.RootDir, "pki"),
		ClientCAFile: o.ClientCAFile, Runtime: rt,
	})
}
