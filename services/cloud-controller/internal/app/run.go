package app

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/cloud-controller/internal/node"
	"skiff.dev/services/cloud-controller/internal/pvlabel"
	"skiff.dev/services/cloud-controller/internal/route"
	"skiff.dev/services/cloud-controller/internal/service"
)

// Run runs the cloud-controller until ctx ends: the informers start at
// once, so a standby replica has warm caches; the cloud provider and the
// controllers run only while this replica leads.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return component.Run(ctx, "cloud-controller", &o.Options, o, func(_ context.Context, c *client.Client, _ client.Config) (*component.Parts, error) {
		a := newApp(o, c, o.cloudConfig)
		slog.InfoContext(ctx, "cloud provider chosen", "provider", o.CloudProvider)
		parts := &component.Parts{Metrics: a.metrics.registry, Caches: []component.Cache{a.services, a.nodes},
			Background: []func(context.Context) error{a.events.Run, a.services.Start, a.nodes.Start}, Lead: a.lead}
		if a.volumes != nil {
			parts.Caches = append(parts.Caches, a.volumes)
			parts.Background = append(parts.Background, a.volumes.Start)
		}
		return parts, nil
	})
}

// app is the process's parts.
type app struct {
	o        *Options
	c        *client.Client
	config   []byte
	metrics  *metrics
	services *informer.Informer[*corev1.Service]
	nodes    *informer.Informer[*corev1.Node]
	volumes  *informer.Informer[*corev1.PersistentVolume] // nil without the pvlabel controller
	events   *events.Broadcaster

	service *service.Controller // nil when not enabled
	node    *node.Controller
	route   *route.Controller
	pvlabel *pvlabel.Controller
}

func newApp(o *Options, c *client.Client, config []byte) *app {
	a := &app{o: o, c: c, config: config, metrics: newMetrics(),
		services: informer.New(informer.FromResource(c.CoreV1().Services("")), informer.Options[*corev1.Service]{}),
		nodes:    informer.New(informer.FromResource(c.CoreV1().Nodes()), informer.Options[*corev1.Node]{}),
	}
	a.events = events.NewBroadcaster(events.ClientSink{C: c})
	if o.Enabled(service.Name) {
		a.service = service.New(service.Config{Client: c, Services: a.services, Nodes: a.nodes, ClusterName: o.ClusterName,
			Workers: o.ConcurrentServiceSyncs, Events: a.events.Recorder("service-controller", ""), Observe: a.metrics.observe})
	}
	if o.Enabled(node.Name) {
		a.node = node.New(node.Config{Client: c, Nodes: a.nodes, Workers: o.ConcurrentNodeSyncs, Events: a.events.Recorder("cloud-node-controller", ""),
			Observe: a.metrics.observe, StatusUpdateFrequency: o.NodeStatusUpdateFrequency, MonitorPeriod: o.NodeMonitorPeriod})
	}
	if o.Enabled(route.Name) && o.ConfigureCloudRoutes {
		var cidr netip.Prefix
		if o.ClusterCIDR != "" {
			cidr = netip.MustParsePrefix(o.ClusterCIDR)
		}
		a.route = route.New(route.Config{Client: c, Nodes: a.nodes, ClusterName: o.ClusterName, ClusterCIDR: cidr,
			Period: o.RouteReconciliationPeriod, Observe: a.metrics.observe})
	}
	if o.Enabled(pvlabel.Name) {
		a.volumes = informer.New(informer.FromResource(c.CoreV1().PersistentVolumes()),
			informer.Options[*corev1.PersistentVolume]{})
		a.pvlabel = pvlabel.New(pvlabel.Config{Client: c, Volumes: a.volumes, Nodes: a.nodes, Workers: 1, Observe: a.metrics.observe})
	}
	return a
}

// metrics are the cloud-controller's Prometheus series: the controllers'
// reconciles and the plugin's restarts.
type metrics struct {
	registry       *prometheus.Registry
	observe        controller.Observer
	pluginRestarts prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		pluginRestarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudprovider_plugin_restarts_total",
			Help: "Times the cloud provider plugin was started again after it died or hung."}),
	}
	m.observe = controller.NewMetrics(m.registry).Observe
	m.registry.MustRegister(m.pluginRestarts)
	return m
}
