// Package resourcequota is Kubernetes' resource quota controller: it
// keeps each ResourceQuota's status current, status.hard the spec's
// limits and status.used what the objects of its namespace (those in its
// scopes) use of them, measured as the apiserver's ResourceQuota
// admission charges them (skiff.dev/pkg/quota). Admission adds what it
// lets in; the controller gives back what goes: a quota is recounted when
// its limits change, when a pod or Service it counts is deleted or stops
// using resources (a pod that finished, a Service that no longer takes
// node ports), when an object it counts with count/<resource> is deleted,
// and every resync period regardless, which also puts right what
// admission charged for writes that failed after it.
package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/quota"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "resourcequota"

// DefaultResyncPeriod is how often every quota is recounted
// (--resource-quota-sync-period).
const DefaultResyncPeriod = 5 * time.Minute

// Controller is the resource quota controller; its keys are quotas'
// namespace/name.
type Controller struct {
	*controller.Controller
	c        *client.Client
	quotas   *informer.Informer[*corev1.ResourceQuota]
	pods     *informer.Informer[*corev1.Pod]
	services *informer.Informer[*corev1.Service]
	resync   time.Duration
	now      func() time.Time

	// monitors follow, as metadata, the resources quotas count by
	// count/<resource>[.<group>] (and the legacy configmaps and secrets),
	// each started the first time a quota names it, for one run.
	mu       sync.Mutex
	runCtx   context.Context
	monitors map[string]*monitor // by group/resource
	wg       sync.WaitGroup
}

// monitor follows one counted resource.
type monitor struct {
	inf *informer.Informer[*metav1.PartialObjectMetadata]
	// served is false for a resource the apiserver does not serve, which
	// has no objects to count.
	served bool
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int, resync time.Duration) *Controller {
	rc := &Controller{c: c, quotas: informers.For[*corev1.ResourceQuota, *corev1.ResourceQuotaList](f),
		pods: f.Pods(), services: f.Services(), resync: resync, now: time.Now}
	rc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(rc.reconcile),
		Keys: func() []string {
			var out []string
			for _, q := range rc.quotas.Store().List() {
				out = append(out, informer.KeyOf(q))
			}
			return out
		}}
	enqueue := func(q *corev1.ResourceQuota) { rc.Enqueue(informer.KeyOf(q)) }
	rc.quotas.AddHandler(informer.Handler[*corev1.ResourceQuota]{
		OnAdd: enqueue,
		OnUpdate: func(old, q *corev1.ResourceQuota) {
			if !quota.Equal(quota.FromProto(old.GetSpec().GetHard()), quota.FromProto(q.GetSpec().GetHard())) {
				enqueue(q)
			}
		},
		OnDelete: enqueue,
	})
	rc.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnUpdate: func(old, p *corev1.Pod) {
			if PodReleases(old, p, rc.now()) {
				rc.replenish("", "pods", p.GetMetadata().GetNamespace())
			}
		},
		OnDelete: func(p *corev1.Pod) { rc.replenish("", "pods", p.GetMetadata().GetNamespace()) },
	})
	rc.services.AddHandler(informer.Handler[*corev1.Service]{
		OnUpdate: func(old, s *corev1.Service) {
			if quota.ServiceQuotaType(old) != quota.ServiceQuotaType(s) {
				rc.replenish("", "services", s.GetMetadata().GetNamespace())
			}
		},
		OnDelete: func(s *corev1.Service) { rc.replenish("", "services", s.GetMetadata().GetNamespace()) },
	})
	return rc
}

// PodReleases reports whether a pod's update changes what quotas count of
// it: it moves in or out of the Terminating scope, or stops being charged
// (it finished).
func PodReleases(old, p *corev1.Pod, now time.Time) bool {
	deadline := func(p *corev1.Pod) bool {
		d := p.GetSpec().ActiveDeadlineSeconds
		return d != nil && *d >= 0
	}
	return deadline(old) != deadline(p) || (quota.Charged(old, now) && !quota.Charged(p, now))
}

// Run works the quotas until ctx ends, and stops the monitors it started.
func (rc *Controller) Run(ctx context.Context) error {
	rc.mu.Lock()
	rc.runCtx, rc.monitors = ctx, map[string]*monitor{}
	rc.mu.Unlock()
	err := rc.Controller.Run(ctx)
	rc.wg.Wait()
	return err
}

// replenish recounts the quotas of a namespace that count a resource.
func (rc *Controller) replenish(group, resource, namespace string) {
	e := quota.For(group, resource)
	for _, q := range rc.quotas.Store().ByIndex(informer.IndexNamespace, namespace) {
		if len(e.MatchingResources(quota.FromProto(q.GetStatus().GetHard()).Names())) > 0 {
			rc.Enqueue(informer.KeyOf(q))
		}
	}
}

func (rc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	q, ok := rc.quotas.Store().Get(key)
	if !ok {
		return 0, nil
	}
	used, countErr := quota.CalculateUsage(q, rc.lister(ctx), rc.now())
	if errors.Is(countErr, errNotSynced) {
		return 0, controller.ErrRetry
	}
	if status, dirty := Status(q, used); dirty {
		next := proto.Clone(q).(*corev1.ResourceQuota)
		next.Status = status
		if _, err := client.For[*corev1.ResourceQuota, *corev1.ResourceQuotaList](rc.c, next.GetMetadata().GetNamespace()).
			UpdateStatus(ctx, next, client.WriteOptions{}); err != nil {
			return 0, errors.Join(err, countErr)
		}
	}
	if countErr != nil {
		return 0, countErr
	}
	return rc.resync, nil
}

// Status is a quota's status once recounted: its spec's limits, and used
// the new count of each, or, for resources that could not be counted,
// the use the status held; dirty when that differs from its status.
func Status(q *corev1.ResourceQuota, counted quota.List) (*corev1.ResourceQuotaStatus, bool) {
	hard := quota.FromProto(q.GetSpec().GetHard())
	used := quota.FromProto(q.GetStatus().GetUsed())
	for name, v := range counted {
		used[name] = v
	}
	used = quota.Mask(used, hard.Names())
	dirty := !quota.Equal(hard, quota.FromProto(q.GetStatus().GetHard())) ||
		!quota.Equal(used, quota.FromProto(q.GetStatus().GetUsed()))
	return &corev1.ResourceQuotaStatus{Hard: hard.Proto(), Used: used.Proto()}, dirty
}

// errNotSynced: a monitor has not listed its resource yet.
var errNotSynced = errors.New("counted resource not listed yet")

// lister lists a namespace's objects of a resource from the informers:
// pods and Services from the shared ones, quotas from the controller's
// own, any other resource from a monitor started for it now if need be.
func (rc *Controller) lister(ctx context.Context) quota.Lister {
	return func(group, resource, namespace string) ([]proto.Message, error) {
		switch group + "/" + resource {
		case "/pods":
			return erase(rc.pods.Store().ByIndex(informer.IndexNamespace, namespace)), nil
		case "/services":
			return erase(rc.services.Store().ByIndex(informer.IndexNamespace, namespace)), nil
		case "/resourcequotas":
			return erase(rc.quotas.Store().ByIndex(informer.IndexNamespace, namespace)), nil
		}
		m, err := rc.monitor(ctx, group, resource)
		if err != nil {
			return nil, err
		}
		if !m.served {
			return nil, nil
		}
		if !m.inf.HasSynced() {
			return nil, errNotSynced
		}
		return erase(m.inf.Store().ByIndex(informer.IndexNamespace, namespace)), nil
	}
}

// monitor returns the monitor of a resource, starting it if there is
// none; a resource the apiserver does not serve gets a monitor that
// counts nothing, looked up again at the next resync.
func (rc *Controller) monitor(ctx context.Context, group, resource string) (*monitor, error) {
	key := group + "/" + resource
	rc.mu.Lock()
	m, ok := rc.monitors[key]
	rc.mu.Unlock()
	if ok {
		return m, nil
	}
	served, err := rc.c.ServedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", quota.ObjectCountName(group, resource), err)
	}
	m = &monitor{}
	for _, r := range served {
		if r.Group == group && r.Resource == resource && r.Namespaced && r.Has("list") && r.Has("watch") {
			m.served = true
			m.inf = informer.New(informer.FromResource(rc.c.Metadata(r.GroupVersionResource, "")),
				informer.Options[*metav1.PartialObjectMetadata]{Indexers: map[string]informer.IndexFunc[*metav1.PartialObjectMetadata]{
					informer.IndexNamespace: informer.NamespaceIndex[*metav1.PartialObjectMetadata]}})
			break
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if have, ok := rc.monitors[key]; ok {
		return have, nil // another worker started it meanwhile
	}
	if rc.runCtx == nil || rc.runCtx.Err() != nil {
		return nil, errNotSynced
	}
	if !m.served {
		// Not kept: a custom resource may be served later.
		return m, nil
	}
	m.inf.AddHandler(informer.Handler[*metav1.PartialObjectMetadata]{OnDelete: func(obj *metav1.PartialObjectMetadata) {
		rc.replenish(group, resource, obj.GetMetadata().GetNamespace())
	}})
	rc.monitors[key] = m
	runCtx := rc.runCtx
	rc.wg.Add(1)
	go func() {
		defer rc.wg.Done()
		if err := m.inf.Start(runCtx); err != nil {
			slog.WarnContext(runCtx, "quota monitor stopped", "resource", key, "err", err)
		}
	}()
	// The quotas that wait for it to list look again soon (ErrRetry). No
	// more is done when it has listed: a second count right after the
	// first could undo a charge that admission made in between for an
	// object the informers have not seen yet.
	return m, nil
}

func erase[T proto.Message](in []T) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}
