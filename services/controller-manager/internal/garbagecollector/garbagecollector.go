// Package garbagecollector deletes objects whose owners are gone and
// carries out the propagation policies of deletes: Background (dependents
// go after their owner), Foreground (the owner waits, with its
// foregroundDeletion finalizer, until its blocking dependents are gone;
// owners that form a cycle are unblocked as Kubernetes does, see decide)
// and Orphan (dependents lose their reference to the owner, which the
// orphan finalizer holds until they have). It follows every served kind
// that can be listed, watched and deleted, found through discovery (again
// every 30 seconds, so kinds served later are followed too) and watched
// as metadata alone.
package garbagecollector

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "garbagecollector"

// The finalizers the apiserver sets for the propagation policies.
const (
	FinalizerOrphan     = "orphan"
	FinalizerForeground = "foregroundDeletion"
)

// Rediscovery is how often the collector looks for kinds it does not
// follow yet (Kubernetes' collector resyncs its monitors every 30 s).
const Rediscovery = 30 * time.Second

// Collector is the garbage collector. Its keys are
// "Kind.group/namespace/name".
type Collector struct {
	*controller.Controller
	c *client.Client

	mu       sync.RWMutex
	kinds    map[string]kind     // by groupKind
	monitors map[string]*running // by group/version/resource
}

// running is a monitor and how to stop it.
type running struct {
	m    *monitor
	stop context.CancelFunc
	done chan struct{}
}

// New makes the collector; it finds the kinds to follow when it runs.
func New(c *client.Client, workers int) *Collector {
	gc := &Collector{c: c, kinds: map[string]kind{}, monitors: map[string]*running{}}
	gc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(gc.reconcile),
		Keys: gc.keys}
	return gc
}

// Run follows every kind discovery lists, and those served later, and
// collects until ctx ends.
func (gc *Collector) Run(ctx context.Context) error {
	for {
		err := gc.discover(ctx)
		if err == nil {
			break
		}
		slog.WarnContext(ctx, "garbage collector: discover the kinds to follow", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(Rediscovery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := gc.discover(ctx); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "garbage collector: discover the kinds to follow", "err", err)
			}
		}
	}()
	err := gc.Controller.Run(ctx)
	<-done
	gc.mu.Lock()
	all := gc.monitors
	gc.monitors, gc.kinds = map[string]*running{}, map[string]kind{}
	gc.mu.Unlock()
	for _, r := range all {
		r.stop()
		<-r.done
	}
	return err
}

// discover starts a monitor for every followed resource without one (one
// version of each group and resource) and stops those no longer served.
func (gc *Collector) discover(ctx context.Context) error {
	served, err := gc.c.ServedResources(ctx)
	if err != nil {
		return err
	}
	want := map[string]client.ServedResource{}
	seen := map[string]bool{} // group/resource
	for _, r := range served {
		gr := r.Group + "/" + r.Resource
		if !followed(r) || seen[gr] {
			continue
		}
		seen[gr] = true
		want[r.String()] = r
	}
	gc.mu.RLock()
	var gone []string
	for gvr := range gc.monitors {
		if _, ok := want[gvr]; !ok {
			gone = append(gone, gvr)
		}
	}
	var added []client.ServedResource
	for gvr, r := range want {
		if _, ok := gc.monitors[gvr]; !ok {
			added = append(added, r)
		}
	}
	gc.mu.RUnlock()
	for _, gvr := range gone {
		gc.mu.Lock()
		r := gc.monitors[gvr]
		delete(gc.monitors, gvr)
		delete(gc.kinds, r.m.name())
		gc.mu.Unlock()
		r.stop()
		<-r.done
	}
	for _, res := range added {
		m := newMonitor(gc.c, res)
		m.onChange(func(old, obj proto.Message, deleted bool) { gc.changed(m, old, obj, deleted) })
		mctx, stop := context.WithCancel(ctx)
		r := &running{m: m, stop: stop, done: make(chan struct{})}
		go func() { defer close(r.done); _ = m.inf.Start(mctx) }()
		syncCtx, cancel := context.WithTimeout(ctx, Rediscovery)
		synced := m.inf.WaitForSync(syncCtx)
		cancel()
		if !synced {
			stop()
			<-r.done
			if ctx.Err() != nil {
				return ctx.Err()
			}
			slog.WarnContext(ctx, "garbage collector: a kind's objects could not be listed; trying again at the next discovery", "resource", res.String())
			continue
		}
		gc.mu.Lock()
		gc.monitors[res.String()] = r
		gc.kinds[m.name()] = m
		gc.mu.Unlock()
		for _, obj := range m.list() {
			if interesting(informer.Meta(obj)) {
				gc.Enqueue(key(m, obj))
			}
		}
	}
	return nil
}

// kind is the followed kind of a groupKind.
func (gc *Collector) kind(name string) (kind, bool) {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	k, ok := gc.kinds[name]
	return k, ok
}

// all are the followed kinds.
func (gc *Collector) all() []kind {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	out := make([]kind, 0, len(gc.kinds))
	for _, k := range gc.kinds {
		out = append(out, k)
	}
	return out
}

func key(k kind, obj proto.Message) string { return k.name() + "/" + informer.KeyOf(obj) }

// interesting objects have owners or a propagation finalizer.
func interesting(m *metav1.ObjectMeta) bool {
	return len(m.GetOwnerReferences()) > 0 ||
		(m.GetDeletionTimestamp() != nil && (slices.Contains(m.GetFinalizers(), FinalizerOrphan) || slices.Contains(m.GetFinalizers(), FinalizerForeground)))
}

func (gc *Collector) keys() []string {
	var out []string
	for _, k := range gc.all() {
		for _, obj := range k.list() {
			if interesting(informer.Meta(obj)) {
				out = append(out, key(k, obj))
			}
		}
	}
	return out
}

// changed queues what an event may concern: the object itself, its
// dependents when it goes away, and its owners when it goes or stops
// blocking them (an owner may be waiting for it).
func (gc *Collector) changed(k kind, old, obj proto.Message, deleted bool) {
	m := informer.Meta(obj)
	if interesting(m) && !deleted {
		gc.Enqueue(key(k, obj))
	}
	going := deleted || (m.GetDeletionTimestamp() != nil && (old == nil || informer.Meta(old).GetDeletionTimestamp() == nil))
	if !going {
		if old != nil && !refsEqual(informer.Meta(old).GetOwnerReferences(), m.GetOwnerReferences()) {
			gc.enqueueOwners(m.GetNamespace(), informer.Meta(old).GetOwnerReferences())
		}
		return
	}
	for _, dk := range gc.all() {
		for _, dep := range dk.byIndex(informer.IndexOwners, m.GetUid()) {
			gc.Enqueue(key(dk, dep))
		}
	}
	gc.enqueueOwners(m.GetNamespace(), m.GetOwnerReferences())
}

func (gc *Collector) enqueueOwners(ns string, refs []*metav1.OwnerReference) {
	for _, ref := range refs {
		k, found := gc.kind(refKind(ref))
		if !found {
			continue
		}
		if m, ok := k.(*monitor); ok && !m.res.Namespaced {
			gc.Enqueue(k.name() + "/" + ref.GetName())
			continue
		}
		gc.Enqueue(k.name() + "/" + ns + "/" + ref.GetName())
	}
}

func refsEqual(a, b []*metav1.OwnerReference) bool {
	return slices.EqualFunc(a, b, func(x, y *metav1.OwnerReference) bool { return proto.Equal(x, y) })
}

// dependents are the objects that name uid among their owners.
func (gc *Collector) dependents(uid string) map[kind][]proto.Message {
	out := map[kind][]proto.Message{}
	for _, k := range gc.all() {
		if deps := k.byIndex(informer.IndexOwners, uid); len(deps) > 0 {
			out[k] = deps
		}
	}
	return out
}

func (gc *Collector) reconcile(ctx context.Context, key string) (time.Duration, error) {
	kindName, nsName, _ := strings.Cut(key, "/")
	k, ok := gc.kind(kindName)
	if !ok {
		return 0, nil
	}
	obj, ok := k.get(nsName)
	if !ok {
		return 0, nil
	}
	m := informer.Meta(obj)
	if m.GetDeletionTimestamp() != nil {
		switch {
		case slices.Contains(m.GetFinalizers(), FinalizerOrphan):
			return 0, gc.orphan(ctx, k, obj)
		case slices.Contains(m.GetFinalizers(), FinalizerForeground):
			return 0, gc.foreground(ctx, k, obj)
		}
		return 0, nil // being deleted: its dependents are looked at once it is gone
	}
	return 0, gc.checkOwners(ctx, k, obj)
}

// orphan removes the owner from its dependents, then its finalizer.
func (gc *Collector) orphan(ctx context.Context, k kind, owner proto.Message) error {
	uid := informer.Meta(owner).GetUid()
	for dk, deps := range gc.dependents(uid) {
		for _, dep := range deps {
			if err := gc.dropRefs(ctx, dk, dep, func(ref *metav1.OwnerReference) bool { return ref.GetUid() == uid }); err != nil {
				return err
			}
		}
	}
	return gc.removeFinalizer(ctx, k, owner, FinalizerOrphan)
}

// foreground releases an owner deleted in the foreground once none of its
// dependents blocks it; until then it has each dependent that is not
// being deleted yet looked at (checkOwners deletes it, or drops the
// reference when it has another owner).
func (gc *Collector) foreground(ctx context.Context, k kind, owner proto.Message) error {
	uid := informer.Meta(owner).GetUid()
	blocked := false
	for dk, deps := range gc.dependents(uid) {
		for _, dep := range deps {
			dm := informer.Meta(dep)
			for _, ref := range dm.GetOwnerReferences() {
				if ref.GetUid() == uid && ref.GetBlockOwnerDeletion() {
					blocked = true
				}
			}
			if dm.GetDeletionTimestamp() == nil {
				gc.Enqueue(key(dk, dep))
			}
		}
	}
	if blocked {
		return nil // each dependent's deletion or unblocking brings the owner back here
	}
	return gc.removeFinalizer(ctx, k, owner, FinalizerForeground)
}

// deletingDependents reports whether an object is being deleted in the
// foreground and waits for its dependents.
func deletingDependents(m *metav1.ObjectMeta) bool {
	return m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), FinalizerForeground)
}

// checkOwners looks at an object that is not being deleted, by the state
// of its owners (see decide): it deletes an object whose owners are all
// going, and drops references to owners that are gone or waiting for
// their dependents when others remain.
func (gc *Collector) checkOwners(ctx context.Context, k kind, obj proto.Message) error {
	m := informer.Meta(obj)
	refs := m.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	states := map[string]ownerState{}
	for _, ref := range refs {
		state, err := gc.ownerState(ctx, m.GetNamespace(), ref)
		if err != nil {
			return err
		}
		states[ref.GetUid()] = state
	}
	dependents, dependentWaiting := 0, false
	for _, deps := range gc.dependents(m.GetUid()) {
		for _, dep := range deps {
			dependents++
			dependentWaiting = dependentWaiting || deletingDependents(informer.Meta(dep))
		}
	}
	s := decide(refs, states, dependents, dependentWaiting, m.GetFinalizers())
	if len(s.drop) > 0 {
		return gc.dropRefs(ctx, k, obj, func(ref *metav1.OwnerReference) bool { return slices.Contains(s.drop, ref.GetUid()) })
	}
	if s.unblock {
		if err := gc.unblock(ctx, k, obj); err != nil {
			return err
		}
	}
	if s.policy == "" {
		return nil
	}
	if err := k.remove(ctx, m.GetNamespace(), m.GetName(), s.policy); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete %s %s, whose owners are going: %w", k.name(), informer.KeyOf(obj), err)
	}
	return nil
}

// ownerState asks the cache, then the apiserver (the cache may not have
// seen a new owner yet), what an owner reference points at. Owners of
// kinds the collector does not follow are taken to exist.
func (gc *Collector) ownerState(ctx context.Context, ns string, ref *metav1.OwnerReference) (ownerState, error) {
	k, ok := gc.kind(refKind(ref))
	if !ok {
		return solid, nil
	}
	owner := k.byIndex(informer.IndexUID, ref.GetUid())
	if len(owner) == 0 {
		live, err := k.live(ctx, ns, ref.GetName())
		switch {
		case client.IsNotFound(err):
			return dangling, nil
		case err != nil:
			return solid, fmt.Errorf("look up owner %s %s/%s: %w", ref.GetKind(), ns, ref.GetName(), err)
		}
		if informer.Meta(live).GetUid() != ref.GetUid() {
			return dangling, nil
		}
		owner = []proto.Message{live}
	}
	if deletingDependents(informer.Meta(owner[0])) {
		return waiting, nil
	}
	return solid, nil
}

// unblock clears blockOwnerDeletion on every reference of obj.
func (gc *Collector) unblock(ctx context.Context, k kind, obj proto.Message) error {
	updated := proto.Clone(obj)
	for _, ref := range informer.Meta(updated).GetOwnerReferences() {
		if ref.GetBlockOwnerDeletion() {
			ref.BlockOwnerDeletion = proto.Bool(false)
		}
	}
	if err := k.update(ctx, updated); err != nil {
		return fmt.Errorf("stop %s %s from blocking its owners: %w", k.name(), informer.KeyOf(obj), err)
	}
	return nil
}

func (gc *Collector) dropRefs(ctx context.Context, k kind, obj proto.Message, drop func(*metav1.OwnerReference) bool) error {
	updated := proto.Clone(obj)
	m := informer.Meta(updated)
	m.OwnerReferences = slices.DeleteFunc(m.OwnerReferences, drop)
	err := k.update(ctx, updated)
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("drop owner references of %s %s: %w", k.name(), informer.KeyOf(obj), err)
	}
	return nil
}

func (gc *Collector) removeFinalizer(ctx context.Context, k kind, obj proto.Message, finalizer string) error {
	updated := proto.Clone(obj)
	m := informer.Meta(updated)
	m.Finalizers = slices.DeleteFunc(m.Finalizers, func(f string) bool { return f == finalizer })
	err := k.update(ctx, updated)
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("remove finalizer %s of %s %s: %w", finalizer, k.name(), informer.KeyOf(obj), err)
	}
	return nil
}
