package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/images"
	"skiff.dev/services/kubelet/internal/mountinfo"
	"skiff.dev/services/kubelet/internal/node"
	"skiff.dev/services/kubelet/internal/pods"
	"skiff.dev/services/kubelet/internal/staticpods"
)

// Run runs the kubelet until ctx ends: it connects to the runtime,
// preloads images, registers the node, and then runs the node's
// heartbeats, its pods and its servers. With --runtime=fake and
// --hollow-nodes it runs that many simulated nodes instead.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	flush, err := o.Observability.Setup(ctx, "kubelet")
	if err != nil {
		return err
	}
	defer flush()
	if err := os.MkdirAll(o.RootDir, 0o750); err != nil {
		return fmt.Errorf("--root-dir: %w", err)
	}
	ip := o.NodeIP
	if ip == "" {
		if ip, err = defaultIP(); err != nil {
			return err
		}
	}
	c, cfg, rotator, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	capacity, allocatable, err := node.Resources(o.RootDir, o.MaxPods, o.SystemReserved)
	if err != nil {
		return err
	}
	// Services, for the environment variables containers get; one
	// informer serves every node of the process.
	svcs := informer.New(informer.FromResource(c.CoreV1().Services("")), informer.Options[*corev1.Service]{
		Indexers: map[string]informer.IndexFunc[*corev1.Service]{informer.IndexNamespace: informer.NamespaceIndex[*corev1.Service]},
	})
	st := component.NewNodeStatus("kubelet", o.Flags, o)
	st.AddCaches(svcs)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return svcs.Start(gctx) })
	if rotator != nil {
		g.Go(func() error { rotator.Run(gctx); return nil })
	}
	// Health only, over plain HTTP, as Kubernetes' kubelet: metrics,
	// z-pages and profiles are on the HTTPS server, to authorized users.
	if o.HealthzBindAddress != "" {
		if err := healthz.Serve(gctx, g, o.HealthzBindAddress, healthz.HealthHandler(st.ReadyCheck())); err != nil {
			return err
		}
	}
	res := nodeResources{capacity: capacity, allocatable: allocatable}
	if o.HollowNodes > 0 {
		if err := runHollow(gctx, g, o, cfg, svcs, st, ip, res); err != nil {
			return err
		}
		return g.Wait()
	}
	if err := runReal(gctx, g, o, c, svcs, st, ip, res); err != nil {
		return err
	}
	return g.Wait()
}

// runReal starts the one node of a kubelet on a real runtime: with image
// preloading and garbage collection, static pods and the HTTPS server; st
// learns of its pod cache.
func runReal(ctx context.Context, g *errgroup.Group, o *Options, c *client.Client, svcs *informer.Informer[*corev1.Service], st *component.Status, ip string, res nodeResources) error {
	name := o.nodeName()
	if o.Runtime != "fake" {
		// As Kubernetes' kubelet: CSI drivers' mounts below the root
		// directory must propagate (the fake runtime mounts nothing).
		if err := mountinfo.MakeRShared(o.RootDir); err != nil {
			return fmt.Errorf("error configuring root directory: %w", err)
		}
	}
	rt, closeRT, err := connect(ctx, o)
	if err != nil {
		return err
	}
	g.Go(func() error { <-ctx.Done(); return closeRT() })
	if o.ImagePreloadDir != "" {
		if err := images.Preload(ctx, o.ContainerRuntimeEndpoint, o.ImagePreloadDir); err != nil {
			return err
		}
	}
	eb := events.NewBroadcaster(events.ClientSink{C: c})
	g.Go(func() error { return eb.Run(ctx) })
	n, err := newNode(ctx, o, c, svcs, nodeConfig{name: name, ip: ip, res: res, rt: rt,
		probe: &node.RuntimeProbe{RT: rt, RootDir: o.RootDir}, info: node.SystemInfo(ctx, rt),
		events: eb.Recorder("kubelet", name)})
	if err != nil {
		return err
	}
	st.AddCaches(n.pods)
	if o.PodManifestPath != "" {
		n.source.static = staticpods.New(o.PodManifestPath, name, c, n.pods.Store(), n.manager.Kick)
		g.Go(func() error {
			if !n.pods.WaitForSync(ctx) {
				return nil
			}
			return n.source.static.Run(ctx, o.FileCheckFrequency)
		})
	}
	srv, err := newServer(ctx, o, name, ip, rt, c, st)
	if err != nil {
		return err
	}
	if srv != nil {
		g.Go(func() error { return srv.Start(ctx) })
	}
	n.watchPlugins = true
	n.start(ctx, g, svcs)
	if o.Runtime == "remote" {
		g.Go(func() error {
			images.GarbageCollect(ctx, rt, o.ImageGCHighThreshold, o.ImageGCLowThreshold)
			return nil
		})
	}
	return nil
}

// relistPeriod is how often the runtime is listed for changes (Kubernetes'
// PLEG relists every second).
const relistPeriod = time.Second

// connect dials the CRI runtime, or makes the fake one.
func connect(ctx context.Context, o *Options) (cri.Runtime, func() error, error) {
	if o.Runtime == "fake" {
		slog.WarnContext(ctx, "runtime=fake: pods get no containers; for benchmarks with hollow nodes only")
		return cri.NewFake(), func() error { return nil }, nil
	}
	return cri.Dial(ctx, o.ContainerRuntimeEndpoint)
}

// podSource serves the desired pods: static pods from their manifests
// (with their mirror's status, so conditions keep their transition times),
// and the API's pods bound to this node except mirror pods.
type podSource struct {
	pods   *informer.Informer[*corev1.Pod]
	static *staticpods.Manager
}

func (s *podSource) Pod(uid string) (*corev1.Pod, bool) {
	if s.static != nil {
		if p, ok := s.static.Pod(uid); ok {
			p = proto.Clone(p).(*corev1.Pod)
			if m, ok := s.pods.Store().Get(p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()); ok &&
				m.GetMetadata().GetAnnotations()[staticpods.AnnotationMirror] == uid {
				p.Status = m.GetStatus()
			}
			return p, true
		}
	}
	found := s.pods.Store().ByIndex("uid", uid)
	if len(found) == 0 || staticpods.IsMirror(found[0]) {
		return nil, false
	}
	return found[0], true
}

// serviceLister serves Services from their informer.
type serviceLister struct {
	svcs *informer.Informer[*corev1.Service]
}

func (l serviceLister) Services(namespace string) []*corev1.Service {
	return l.svcs.Store().ByIndex(informer.IndexNamespace, namespace)
}

// apiObjects reads ConfigMaps and Secrets from the apiserver.
type apiObjects struct{ c *client.Client }

func (a apiObjects) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return a.c.CoreV1().ConfigMaps(ns).Get(ctx, name)
}

func (a apiObjects) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return a.c.CoreV1().Secrets(ns).Get(ctx, name)
}

// runtimeHandlers reads a RuntimeClass's handler from the apiserver each
// time a sandbox is made (rarely: once per pod, and again only when its
// sandbox died), so a class deleted or made since is seen at once.
func runtimeHandlers(c *client.Client) pods.RuntimeHandlers {
	return func(ctx context.Context, name string) (string, error) {
		rc, err := c.NodeV1().RuntimeClasses().Get(ctx, name)
		if client.IsNotFound(err) {
			return "", err
		}
		if err != nil {
			return "", fmt.Errorf("failed to lookup RuntimeClass %s: %w", name, err)
		}
		return rc.GetHandler(), nil
	}
}

// deletePod finishes a pod's graceful deletion once its containers have
// stopped: delete now, and only this very pod.
func deletePod(c *client.Client) pods.Deleter {
	return func(ctx context.Context, pod *corev1.Pod) error {
		zero := int64(0)
		uid := pod.GetMetadata().GetUid()
		_, err := c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(),
			&metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
		if client.IsNotFound(err) || client.IsConflict(err) {
			return nil
		}
		return err
	}
}

// defaultIP is the first IPv4 address of the interface of the default
// route, or of any interface that is up and not loopback.
func defaultIP() (string, error) {
	if data, err := os.ReadFile("/proc/net/route"); err == nil {
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 2 && f[1] == "00000000" {
				if ip := ifaceIP(f[0]); ip != "" {
					return ip, nil
				}
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			if ip := ifaceIP(i.Name); ip != "" {
				return ip, nil
			}
		}
	}
	return "", fmt.Errorf("no node IP found: give --node-ip")
}

func ifaceIP(name string) string {
	i, err := net.InterfaceByName(name)
	if err != nil {
		return ""
	}
	addrs, _ := i.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
