package namespaces

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Finalizer empties terminating namespaces and then releases them.
type Finalizer struct {
	namespaces registry.Backend
	finalize   func(ctx context.Context, obj proto.Message) error
	content    []registry.Backend // every namespaced resource
	interval   time.Duration
}

// NewFinalizer builds the finalizer. finalize writes a namespace's
// spec.finalizers (the namespaces/finalize subresource).
func NewFinalizer(namespaces registry.Backend, finalize func(context.Context, proto.Message) error, content []registry.Backend) *Finalizer {
	return &Finalizer{namespaces: namespaces, finalize: finalize, content: content, interval: 2 * time.Second}
}

// Start runs until ctx ends: on every namespace change and periodically
// (pods being deleted gracefully take time) it works on each terminating
// namespace.
func (f *Finalizer) Start(ctx context.Context) error {
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		w, err := f.namespaces.Watch(ctx, "", registry.ListOptions{})
		if err != nil {
			return err
		}
		f.watchLoop(ctx, w, ticker.C)
		w.Stop()
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (f *Finalizer) watchLoop(ctx context.Context, w registry.Watcher, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			f.syncAll(ctx)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if ns, isNS := ev.Object.(*corev1.Namespace); isNS && ev.Type != registry.Deleted {
				f.sync(ctx, ns)
			}
		}
	}
}

func (f *Finalizer) syncAll(ctx context.Context) {
	list, err := f.namespaces.List(ctx, "", registry.ListOptions{})
	if err != nil {
		slog.WarnContext(ctx, "list namespaces failed", "err", err)
		return
	}
	for _, item := range object.Items(list) {
		f.sync(ctx, item.(*corev1.Namespace))
	}
}

// sync deletes what is left in a terminating namespace; once nothing is
// left it removes the kubernetes finalizer, which lets the namespace go.
func (f *Finalizer) sync(ctx context.Context, ns *corev1.Namespace) {
	if ns.GetMetadata().GetDeletionTimestamp() == nil {
		return
	}
	name := ns.GetMetadata().GetName()
	remaining := 0
	for _, b := range f.content {
		n, err := f.deleteContent(ctx, b, name)
		if err != nil {
			slog.WarnContext(ctx, "delete namespace content failed", "namespace", name, "err", err)
			return
		}
		remaining += n
	}
	if remaining > 0 {
		return
	}
	next := proto.Clone(ns).(*corev1.Namespace)
	next.Spec.Finalizers = withoutFinalizer(next.GetSpec().GetFinalizers(), FinalizerKubernetes)
	if err := f.finalize(ctx, next); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		slog.WarnContext(ctx, "finalize namespace failed", "namespace", name, "err", err)
	}
}

// deleteContent deletes every object of one resource in the namespace and
// returns how many still exist (held by finalizers or grace periods).
func (f *Finalizer) deleteContent(ctx context.Context, b registry.Backend, ns string) (int, error) {
	list, err := b.List(ctx, ns, registry.ListOptions{})
	if err != nil {
		return 0, err
	}
	background := "Background"
	remaining := 0
	for _, item := range object.Items(list) {
		meta := object.Meta(item)
		if meta.GetDeletionTimestamp() != nil {
			remaining++
			continue
		}
		out, err := b.Delete(ctx, ns, meta.GetName(), &metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, err
		}
		if err == nil && object.Meta(out).GetDeletionTimestamp() != nil {
			remaining++
		}
	}
	return remaining, nil
}
