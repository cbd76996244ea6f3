package app

import (
	"context"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/healthz"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/server"
)

// newServer builds the HTTPS server for logs, exec, attach and
// port-forward, and the metrics, z-pages (from st) and profiles, from the
// flags; nil when --port is 0. c asks the apiserver who may read the
// metrics.
func newServer(ctx context.Context, o *Options, node, ip string, rt cri.Runtime, c *client.Client, st *component.Status) (*server.Server, error) {
	if o.Port == 0 {
		return nil, nil
	}
	metrics, err := st.Handler(ctx, prometheus.NewRegistry(), o.Profiling)
	if err != nil {
		return nil, err
	}
	return server.New(server.Config{
		Address: o.Address, Port: o.Port, NodeName: node, NodeIP: ip,
		CertFile: o.TLSCertFile, KeyFile: o.TLSPrivateKeyFile, PKIDir: filepath.Join(o.RootDir, "pki"),
		ClientCAFile: o.ClientCAFile, Runtime: rt,
		Metrics: metrics, Reviewer: healthz.ClientReviewer(c),
	})
}
