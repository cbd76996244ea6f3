package app

import (
	"context"

	"skiff.dev/pkg/client"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/deployment"
	"skiff.dev/services/controller-manager/internal/endpoints"
	"skiff.dev/services/controller-manager/internal/endpointslice"
	"skiff.dev/services/controller-manager/internal/garbagecollector"
	"skiff.dev/services/controller-manager/internal/informers"
	"skiff.dev/services/controller-manager/internal/namespace"
	"skiff.dev/services/controller-manager/internal/nodeipam"
	"skiff.dev/services/controller-manager/internal/nodelifecycle"
	"skiff.dev/services/controller-manager/internal/replicaset"
	"skiff.dev/services/controller-manager/internal/rootcacertpublisher"
	"skiff.dev/services/controller-manager/internal/serviceaccount"
)

// runner is a controller the manager starts while it leads.
type runner interface {
	Run(ctx context.Context) error
}

// known lists the controllers, their worker flags (Kubernetes' names; none
// for controllers without workers) and how to build them.
var known = []struct {
	name        string
	workersFlag string
	workers     int
	build       func(c *client.Client, f *informers.Factory, o *Options, workers int, observe controller.Observer) (runner, error)
}{
	{replicaset.Name, "concurrent-replicaset-syncs", 5, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		rc := replicaset.New(c, f, w)
		rc.Observe = obs
		return rc, nil
	}},
	{deployment.Name, "concurrent-deployment-syncs", 5, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		dc := deployment.New(c, f, w)
		dc.Observe = obs
		return dc, nil
	}},
	{endpoints.Name, "concurrent-endpoint-syncs", 5, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		ec := endpoints.New(c, f, w)
		ec.Observe = obs
		return ec, nil
	}},
	{endpointslice.Name, "concurrent-service-endpoint-syncs", 5, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		ec := endpointslice.New(c, f, w)
		ec.Observe = obs
		return ec, nil
	}},
	{garbagecollector.Name, "concurrent-gc-syncs", 20, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		gc := garbagecollector.New(c, f, w)
		gc.Observe = obs
		return gc, nil
	}},
	{namespace.Name, "concurrent-namespace-syncs", 10, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		nc := namespace.New(c, f, w)
		nc.Observe = obs
		return nc, nil
	}},
	{nodelifecycle.Name, "", 1, func(c *client.Client, f *informers.Factory, o *Options, _ int, _ controller.Observer) (runner, error) {
		return nodelifecycle.New(c, f, nodelifecycle.Config{MonitorPeriod: o.NodeMonitorPeriod,
			GracePeriod: o.NodeMonitorGracePeriod, EvictionRate: o.NodeEvictionRate}), nil
	}},
	// Kubernetes has no flag for the node IPAM controller's workers either.
	{nodeipam.Name, "", 5, func(c *client.Client, f *informers.Factory, o *Options, w int, obs controller.Observer) (runner, error) {
		ic := nodeipam.New(c, f, nodeipam.Config{ClusterCIDR: o.clusterCIDR(), NodeMaskSize: o.NodeCIDRMaskSize, Workers: w})
		ic.Observe = obs
		return ic, nil
	}},
	{serviceaccount.Name, "concurrent-serviceaccount-syncs", 2, func(c *client.Client, f *informers.Factory, _ *Options, w int, obs controller.Observer) (runner, error) {
		sc := serviceaccount.New(c, f, w)
		sc.Observe = obs
		return sc, nil
	}},
	// Kubernetes runs the publisher with one worker and no flag for more.
	{rootcacertpublisher.Name, "", 1, func(c *client.Client, f *informers.Factory, o *Options, w int, obs controller.Observer) (runner, error) {
		pc, err := rootcacertpublisher.New(c, f, rootcacertpublisher.Config{CA: o.rootCA(), Workers: w})
		if err != nil {
			return nil, err
		}
		pc.Observe = obs
		return pc, nil
	}},
}

func names() []string {
	out := make([]string, len(known))
	for i, c := range known {
		out[i] = c.name
	}
	return out
}
