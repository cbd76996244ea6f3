package app

import (
	"context"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
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
	"skiff.dev/services/controller-manager/internal/serviceaccount"
)

// deps is what a controller is built from.
type deps struct {
	c       *client.Client
	f       *informers.Factory
	o       *Options
	workers int
	observe controller.Observer
	events  *events.Broadcaster
}

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
	build       func(d deps) runner
}{
	{replicaset.Name, "concurrent-replicaset-syncs", 5, func(d deps) runner {
		rc := replicaset.New(d.c, d.f, d.workers)
		rc.Observe = d.observe
		rc.Events = d.events.Recorder("replicaset-controller", "")
		return rc
	}},
	{deployment.Name, "concurrent-deployment-syncs", 5, func(d deps) runner {
		dc := deployment.New(d.c, d.f, d.workers)
		dc.Observe = d.observe
		dc.Events = d.events.Recorder("deployment-controller", "")
		return dc
	}},
	{endpoints.Name, "concurrent-endpoint-syncs", 5, func(d deps) runner {
		ec := endpoints.New(d.c, d.f, d.workers)
		ec.Observe = d.observe
		return ec
	}},
	{endpointslice.Name, "concurrent-service-endpoint-syncs", 5, func(d deps) runner {
		ec := endpointslice.New(d.c, d.f, d.workers)
		ec.Observe = d.observe
		return ec
	}},
	{garbagecollector.Name, "concurrent-gc-syncs", 20, func(d deps) runner {
		gc := garbagecollector.New(d.c, d.f, d.workers)
		gc.Observe = d.observe
		return gc
	}},
	{namespace.Name, "concurrent-namespace-syncs", 10, func(d deps) runner {
		nc := namespace.New(d.c, d.f, d.workers)
		nc.Observe = d.observe
		return nc
	}},
	{nodelifecycle.Name, "", 1, func(d deps) runner {
		nc := nodelifecycle.New(d.c, d.f, nodelifecycle.Config{MonitorPeriod: d.o.NodeMonitorPeriod,
			GracePeriod: d.o.NodeMonitorGracePeriod, EvictionRate: d.o.NodeEvictionRate})
		nc.Events = d.events.Recorder("node-controller", "")
		nc.Evictions = d.events.Recorder("taint-eviction-controller", "")
		return nc
	}},
	// Kubernetes has no flag for the node IPAM controller's workers either.
	{nodeipam.Name, "", 5, func(d deps) runner {
		ic := nodeipam.New(d.c, d.f, nodeipam.Config{ClusterCIDR: d.o.clusterCIDR(), NodeMaskSize: d.o.NodeCIDRMaskSize, Workers: d.workers})
		ic.Observe = d.observe
		ic.Events = d.events.Recorder(nodeipam.Component, "")
		return ic
	}},
	{serviceaccount.Name, "concurrent-serviceaccount-syncs", 2, func(d deps) runner {
		sc := serviceaccount.New(d.c, d.f, d.workers)
		sc.Observe = d.observe
		return sc
	}},
}

func names() []string {
	out := make([]string, len(known))
	for i, c := range known {
		out[i] = c.name
	}
	return out
}
