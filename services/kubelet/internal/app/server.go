package app

import (
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/healthz"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/server"
)

// newServer builds the HTTPS server for logs, exec, attach and
// port-forward, and the metrics and profiles, from the flags; nil when
// --port is 0. c asks the apiserver who may read the metrics.
func newServer(o *Options, node, ip string, rt cri.Runtime, c *client.Client) (*server.Server, error) {
	if o.Port == 0 {
		return nil, nil
	}
	return server.New(server.Config{
		Address: o.Address, Port: o.Port, NodeName: node, NodeIP: ip,
		CertFile: o.TLSCertFile, KeyFile: o.TLSPrivateKeyFile, PKIDir: filepath.Join(o.RootDir, "pki"),
		ClientCAFile: o.ClientCAFile, Runtime: rt,
		Metrics: healthz.Handler(prometheus.NewRegistry(), o.Profiling), Reviewer: healthz.ClientReviewer(c),
	})
}
