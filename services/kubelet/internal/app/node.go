package app

import (
	"context"
	"fmt"
	"maps"
	"runtime"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/csi"
	"skiff.dev/services/kubelet/internal/downward"
	"skiff.dev/services/kubelet/internal/node"
	"skiff.dev/services/kubelet/internal/pods"
	"skiff.dev/services/kubelet/internal/status"
	"skiff.dev/services/kubelet/internal/sysctls"
	"skiff.dev/services/kubelet/internal/volumes"
)

// nodeResources are a node's capacity and allocatable amounts.
type nodeResources struct {
	capacity, allocatable map[string]string
}

// nodeConfig is what differs between the nodes of one process.
type nodeConfig struct {
	name, ip string
	res      nodeResources
	rt       cri.Runtime
	probe    node.Probe
	info     *corev1.NodeSystemInfo
	// events records what happens to the node and its pods (hollow nodes
	// record nothing).
	events *events.Recorder
}

// kubeletNode is one node's agent: its Node and Lease, the informer of
// its pods, the pod manager and the status writer.
type kubeletNode struct {
	agent    *node.Agent
	pods     *informer.Informer[*corev1.Pod]
	statuses *status.Manager
	manager  *pods.Manager
	source   *podSource
	drivers  *csi.Drivers
	// watchPlugins registers CSI drivers; hollow nodes, which share one
	// root directory, do not.
	watchPlugins bool
}

// newNode registers a node and builds its components; start runs them.
func newNode(ctx context.Context, o *Options, c *client.Client, svcs *informer.Informer[*corev1.Service], nc nodeConfig) (*kubeletNode, error) {
	labels := map[string]string{"kubernetes.io/hostname": nc.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH}
	maps.Copy(labels, o.NodeLabels)
	agent := node.NewAgent(node.Config{
		Name: nc.name, IP: nc.ip, Labels: labels, Capacity: nc.res.capacity, Allocatable: nc.res.allocatable,
		KubeletPort: int32(o.Port), LeaseDurationSeconds: int32(o.NodeLeaseDurationSeconds),
		StatusFrequency: o.NodeStatusUpdateFrequency, Info: nc.info,
		ExternalCloudProvider: o.CloudProvider == "external",
	}, c, nc.probe)
	agent.Events = nc.events
	agent.VolumesInUse = func() []string { return csi.VolumesInUse(o.RootDir) }
	if err := agent.Register(ctx); err != nil {
		return nil, err
	}
	n := &kubeletNode{agent: agent}
	n.pods = informer.New(informer.FromResource(c.CoreV1().Pods("").Resource), informer.Options[*corev1.Pod]{
		FieldSelector: "spec.nodeName=" + nc.name,
		Indexers:      map[string]informer.IndexFunc[*corev1.Pod]{"uid": informer.UIDIndex[*corev1.Pod]},
	})
	n.statuses = status.New(c, n.lookup)
	objects := apiObjects{c: c}
	allocatable, err := downwardAllocatable(nc.res.allocatable)
	if err != nil {
		return nil, err
	}
	n.drivers = csiDrivers(o.RootDir, nc.name, c)
	vols := &volumes.Manager{Root: o.RootDir, Objects: objects, Tokens: newTokens(c), NodeIP: nc.ip, Allocatable: allocatable,
		Storage: apiStorage{c: c}, CSI: n.drivers, NodeName: nc.name}
	allowed, err := sysctls.New(sysctls.KernelVersion(), o.AllowedUnsafeSysctls)
	if err != nil {
		return nil, fmt.Errorf("--allowed-unsafe-sysctls: %w", err)
	}
	cfg := pods.Config{
		NodeName: nc.name, NodeIP: nc.ip, RootDir: o.RootDir, CgroupRoot: o.CgroupRoot,
		RestartBackoff: o.RestartBackoff, MaxRestartBackoff: o.MaxRestartBackoff,
		RelistPeriod: relistPeriod, ResyncPeriod: o.SyncFrequency, Allocatable: allocatable,
		Sysctls: allowed,
		DNS:     pods.DNS{ClusterDNS: o.ClusterDNS, ClusterDomain: o.ClusterDomain, ResolvConf: o.ResolvConf},
	}
	n.source = &podSource{pods: n.pods}
	n.manager = pods.New(cfg, nc.rt, n.source, objects, vols, n.statuses, deletePod(c))
	n.manager.SetServices(serviceLister{svcs})
	n.manager.SetRuntimeHandlers(runtimeHandlers(c))
	n.manager.SetRecorder(nc.events)
	n.pods.AddHandler(n.manager.PodHandler())
	return n, nil
}

// lookup finds one of the node's pods in its informer.
func (n *kubeletNode) lookup(ns, name string) (*corev1.Pod, bool) {
	return n.pods.Store().Get(ns + "/" + name)
}

// start runs the node's components in g; pods are synced once the pod
// and Service caches are.
func (n *kubeletNode) start(ctx context.Context, g *errgroup.Group, svcs *informer.Informer[*corev1.Service]) {
	g.Go(func() error { return n.agent.Run(ctx) })
	g.Go(func() error { return n.pods.Start(ctx) })
	g.Go(func() error { return n.statuses.Run(ctx) })
	if n.watchPlugins {
		g.Go(func() error { return pluginWatcher(n.drivers.Root, n.drivers).Run(ctx) })
	}
	g.Go(func() error {
		if !n.pods.WaitForSync(ctx) || !svcs.WaitForSync(ctx) {
			return nil
		}
		return n.manager.Run(ctx)
	})
}

// downwardAllocatable reads the node's allocatable cpu, memory and
// ephemeral-storage for the downward API.
func downwardAllocatable(allocatable map[string]string) (downward.Allocatable, error) {
	out := downward.Allocatable{}
	for _, name := range []string{"cpu", "memory", "ephemeral-storage"} {
		q, err := resource.ParseQuantity(allocatable[name])
		if err != nil {
			return nil, fmt.Errorf("node allocatable %s %q: %w", name, allocatable[name], err)
		}
		out[name] = q
	}
	return out, nil
}
