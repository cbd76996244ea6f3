// Package garbagecollector deletes objects whose owners are gone and
// carries out the propagation policies of deletes: Background (dependents
// go after their owner), Foreground (the owner waits, with its
// foregroundDeletion finalizer, until its blocking dependents are gone)
// and Orphan (dependents lose their reference to the owner, which the
// orphan finalizer holds until they have).
package garbagecollector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "garbagecollector"

// The finalizers the apiserver sets for the propagation policies.
const (
	FinalizerOrphan     = "orphan"
	FinalizerForeground = "foregroundDeletion"
)

// Collector is the garbage collector. Its keys are "Kind/namespace/name".
type Collector struct {
	*controller.Controller
	kinds map[string]kind
}

// New wires the collector to the shared informers of every kind it follows.
func New(c *client.Client, f *informers.Factory, workers int) *Collector {
	gc := &Collector{kinds: map[string]kind{}}
	gc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(gc.reconcile),
		Keys: gc.keys}
	for _, k := range kinds(c, f) {
		gc.kinds[k.name()] = k
		k.onChange(func(old, obj proto.Message, deleted bool) { gc.changed(k, old, obj, deleted) })
	}
	return gc
}

func key(k kind, obj proto.Message) string { return k.name() + "/" + informer.KeyOf(obj) }

// interesting objects have owners or a propagation finalizer.
func interesting(m *metav1.ObjectMeta) bool {
	return len(m.GetOwnerReferences()) > 0 ||
		(m.GetDeletionTimestamp() != nil && (slices.Contains(m.GetFinalizers(), FinalizerOrphan) || slices.Contains(m.GetFinalizers(), FinalizerForeground)))
}

func (gc *Collector) keys() []string {
	var out []string
	for _, k := range gc.kinds {
		for _, obj := range k.list() {
			if interesting(informer.Meta(obj)) {
				out = append(out, key(k, obj))
			}
		}
	}
	return out
}

// changed queues what an event may concern: the object itself, its
// dependents when it goes away, and its owners when it does (an owner may
// be waiting for it).
func (gc *Collector) changed(k kind, old, obj proto.Message, deleted bool) {
	m := informer.Meta(obj)
	if interesting(m) && !deleted {
		gc.Enqueue(key(k, obj))
	}
	going := deleted || (m.GetDeletionTimestamp() != nil && (old == nil || informer.Meta(old).GetDeletionTimestamp() == nil))
	if !going {
		return
	}
	for _, dk := range gc.kinds {
		for _, dep := range dk.byIndex(informer.IndexOwners, m.GetUid()) {
			gc.Enqueue(key(dk, dep))
		}
	}
	for _, ref := range m.GetOwnerReferences() {
		if _, found := gc.kinds[ref.GetKind()]; found {
			gc.Enqueue(ref.GetKind() + "/" + m.GetNamespace() + "/" + ref.GetName())
		}
	}
}

// dependents are the objects that name uid among their owners.
func (gc *Collector) dependents(uid string) map[kind][]proto.Message {
	out := map[kind][]proto.Message{}
	for _, k := range gc.kinds {
		if deps := k.byIndex(informer.IndexOwners, uid); len(deps) > 0 {
			out[k] = deps
		}
	}
	return out
}

func (gc *Collector) reconcile(ctx context.Context, key string) (time.Duration, error) {
	kindName, nsName, _ := strings.Cut(key, "/")
	k, ok := gc.kinds[kindName]
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
		return 0, nil
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

// foreground deletes the dependents (in the foreground too) and releases
// the owner once no dependent that blocks it is left.
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
			if dm.GetDeletionTimestamp() != nil {
				continue
			}
			if err := dk.remove(ctx, dm.GetNamespace(), dm.GetName(), "Foreground"); err != nil && !client.IsNotFound(err) {
				return fmt.Errorf("delete %s %s, a dependent of %s: %w", dk.name(), informer.KeyOf(dep), informer.KeyOf(owner), err)
			}
		}
	}
	if blocked {
		return nil // each dependent's deletion brings the owner back here
	}
	return gc.removeFinalizer(ctx, k, owner, FinalizerForeground)
}

// checkOwners deletes an object all of whose owners are gone, and drops
// references to owners that are gone when others remain.
func (gc *Collector) checkOwners(ctx context.Context, k kind, obj proto.Message) error {
	m := informer.Meta(obj)
	refs := m.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, ref := range refs {
		absent, err := gc.ownerAbsent(ctx, m.GetNamespace(), ref)
		if err != nil {
			return err
		}
		if absent {
			gone[ref.GetUid()] = true
		}
	}
	switch {
	case len(gone) == 0:
		return nil
	case len(gone) == len(refs):
		err := k.remove(ctx, m.GetNamespace(), m.GetName(), "Background")
		if err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete %s %s, whose owners are gone: %w", k.name(), informer.KeyOf(obj), err)
		}
		return nil
	default:
		return gc.dropRefs(ctx, k, obj, func(ref *metav1.OwnerReference) bool { return gone[ref.GetUid()] })
	}
}

// ownerAbsent asks the cache, then the apiserver (the cache may not have
// seen a new owner yet), whether an owner exists under its uid. Owners of
// kinds the collector does not follow are taken to exist.
func (gc *Collector) ownerAbsent(ctx context.Context, ns string, ref *metav1.OwnerReference) (bool, error) {
	k, ok := gc.kinds[ref.GetKind()]
	if !ok {
		return false, nil
	}
	if len(k.byIndex(informer.IndexUID, ref.GetUid())) > 0 {
		return false, nil
	}
	live, err := k.live(ctx, ns, ref.GetName())
	switch {
	case client.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("look up owner %s %s/%s: %w", ref.GetKind(), ns, ref.GetName(), err)
	}
	return informer.Meta(live).GetUid() != ref.GetUid(), nil
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
