// Package rootcacertpublisher publishes the CA bundle that verifies the
// apiserver in every namespace, as Kubernetes' root-ca-cert-publisher
// does: a ConfigMap kube-root-ca.crt with data ca.crt and a
// kubernetes.io/description annotation. It creates the ConfigMap in every
// namespace that is not terminating, recreates it when it is deleted, puts
// its data and description back when they are edited, and follows the CA
// source: when the bundle it reads changes (a rotated file), every
// namespace's ConfigMap is updated.
package rootcacertpublisher

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers (Kubernetes' alias of
// root-ca-certificate-publisher-controller).
const Name = "root-ca-cert-publisher"

// The ConfigMap, as Kubernetes names and describes it.
const (
	ConfigMapName         = "kube-root-ca.crt"
	DataKey               = "ca.crt"
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// DefaultPollPeriod is how often the CA source is read again.
const DefaultPollPeriod = 5 * time.Second

// Config configures the publisher.
type Config struct {
	// CA is where the bundle comes from; New reads it once and fails if it
	// cannot.
	CA Source
	// PollPeriod is how often CA is read again (DefaultPollPeriod if 0).
	PollPeriod time.Duration
	// Clock drives the polling (real time if nil).
	Clock   clock.Clock
	Workers int
}

// Controller is the publisher; its keys are namespace names.
type Controller struct {
	*controller.Controller
	c      *client.Client
	nss    *informer.Informer[*corev1.Namespace]
	cms    *informer.Informer[*corev1.ConfigMap]
	ca     *bundle
	clock  clock.Clock
	period time.Duration
}

// New reads the CA and wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, cfg Config) (*Controller, error) {
	ca, err := newBundle(cfg.CA)
	if err != nil {
		return nil, err
	}
	pc := &Controller{c: c, nss: f.Namespaces(), cms: f.ConfigMaps(), ca: ca, clock: cfg.Clock, period: cfg.PollPeriod}
	if pc.clock == nil {
		pc.clock = clock.Real{}
	}
	if pc.period <= 0 {
		pc.period = DefaultPollPeriod
	}
	pc.Controller = &controller.Controller{Name: Name, Workers: cfg.Workers,
		Reconciler: controller.ReconcileFunc(pc.reconcile), Keys: pc.namespaces}
	pc.watch()
	return pc, nil
}

// watch enqueues a namespace when it appears or changes while active, and
// when its ConfigMap appears, changes or goes.
func (pc *Controller) watch() {
	onNS := func(ns *corev1.Namespace) {
		if active(ns) {
			pc.Enqueue(ns.GetMetadata().GetName())
		}
	}
	pc.nss.AddHandler(informer.Handler[*corev1.Namespace]{OnAdd: onNS, OnUpdate: func(_, ns *corev1.Namespace) { onNS(ns) }})
	onCM := func(cm *corev1.ConfigMap) {
		if cm.GetMetadata().GetName() == ConfigMapName {
			pc.Enqueue(cm.GetMetadata().GetNamespace())
		}
	}
	pc.cms.AddHandler(informer.Handler[*corev1.ConfigMap]{OnAdd: onCM, OnUpdate: func(_, cm *corev1.ConfigMap) { onCM(cm) }, OnDelete: onCM})
}

// namespaces are the keys of every cached namespace.
func (pc *Controller) namespaces() []string {
	var out []string
	for _, ns := range pc.nss.Store().List() {
		out = append(out, ns.GetMetadata().GetName())
	}
	return out
}

// Run publishes while ctx lasts (a leadership term): it reads the CA
// again first, so a term starts with the current one, then works the
// queue and follows the CA, looking at every namespace again when it
// changes.
func (pc *Controller) Run(ctx context.Context) error {
	pc.ca.refresh(ctx)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return pc.Controller.Run(gctx) })
	g.Go(func() error {
		pc.ca.follow(gctx, pc.clock, pc.period, func() {
			for _, ns := range pc.namespaces() {
				pc.Enqueue(ns)
			}
		})
		return nil
	})
	return g.Wait()
}

func (pc *Controller) reconcile(ctx context.Context, ns string) (time.Duration, error) {
	n, ok := pc.nss.Store().Get(ns)
	if !ok || !active(n) {
		return 0, nil
	}
	cm, _ := pc.cms.Store().Get(ns + "/" + ConfigMapName)
	want := desired(ns, cm, pc.ca.get())
	switch {
	case want == nil:
		return 0, nil
	case cm == nil:
		_, err := pc.c.CoreV1().ConfigMaps(ns).Create(ctx, want, client.WriteOptions{})
		return 0, createResult(ns, err)
	}
	if _, err := pc.c.CoreV1().ConfigMaps(ns).Update(ctx, want, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("update the root CA ConfigMap of namespace %s: %w", ns, err)
	}
	return 0, nil
}
