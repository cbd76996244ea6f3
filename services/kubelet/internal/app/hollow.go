package app

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/node"
)

// runHollow starts --hollow-nodes simulated nodes, <node name>-<i>, each
// with its own fake runtime, pod informer, pod manager and heartbeats, to
// load the control plane like that many kubelets without running a
// container. For benchmarks only. st learns of their pod caches.
func runHollow(ctx context.Context, g *errgroup.Group, o *Options, cfg client.Config, svcs *informer.Informer[*corev1.Service], st *component.Status, ip string, res nodeResources) error {
	slog.WarnContext(ctx, "hollow nodes: pods get no containers; for benchmarks only", "nodes", o.HollowNodes)
	info := &corev1.NodeSystemInfo{KubeletVersion: node.KubeletVersion, ContainerRuntimeVersion: "fake://0.1.0",
		OperatingSystem: "linux", OsImage: "hollow"}
	var c *client.Client
	for i := range o.HollowNodes {
		// Each node keeps a watch open; a connection carries a limited
		// number of streams (HTTP/2), so nodes share connections in groups,
		// as separate kubelets would each have their own.
		if i%nodesPerConnection == 0 {
			var err error
			if c, err = client.New(cfg); err != nil {
				return err
			}
			g.Go(func() error { <-ctx.Done(); return c.Close() })
		}
		rt := cri.NewFake()
		n, err := newNode(ctx, o, c, svcs, nodeConfig{name: fmt.Sprintf("%s-%d", o.nodeName(), i), ip: ip, res: res,
			rt: rt, probe: hollowProbe{}, info: info})
		if err != nil {
			return err
		}
		st.AddCaches(n.pods)
		n.start(ctx, g, svcs)
	}
	slog.InfoContext(ctx, "hollow nodes running", "nodes", o.HollowNodes)
	return nil
}

// nodesPerConnection is how many hollow nodes share one connection to the
// apiserver.
const nodesPerConnection = 50

// hollowProbe reports a healthy node with no pressure and no images.
type hollowProbe struct{}

var _ node.Probe = hollowProbe{}

func (hollowProbe) RuntimeReady(context.Context) error { return nil }
func (hollowProbe) Pressure() node.Pressure            { return node.Pressure{} }
func (hollowProbe) Images(context.Context) ([]*corev1.ContainerImage, error) {
	return nil, nil
}
