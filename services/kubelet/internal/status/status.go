// Package status writes the pod statuses the kubelet computes to the
// apiserver. Writes are coalesced per pod (only the newest status of a pod
// is written), skipped when nothing changed, and done by a few workers, so
// a busy node does not flood the apiserver.
package status

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/kubelet/internal/staticpods"
)

// Lookup returns the newest cached copy of a pod object.
type Lookup func(namespace, name string) (*corev1.Pod, bool)

// Manager batches pod status writes.
type Manager struct {
	c       *client.Client
	lookup  Lookup
	workers int
	// gather is how long a write waits for more changes to fold in.
	gather time.Duration

	mu      sync.Mutex
	pending map[string]*entry // by pod uid
	wake    chan struct{}
}

type entry struct {
	uid, namespace, name string
	// static is the config hash of a static pod, which reports on its
	// mirror pod (a different uid).
	static string
	status *corev1.PodStatus
}

// owns reports whether an API object is where the entry's status goes.
func (e *entry) owns(p *corev1.Pod) bool {
	if e.static != "" {
		return p.GetMetadata().GetAnnotations()[staticpods.AnnotationMirror] == e.static
	}
	return p.GetMetadata().GetUid() == e.uid
}

// New returns a status manager; Run starts its writers.
func New(c *client.Client, lookup Lookup) *Manager {
	return &Manager{c: c, lookup: lookup, workers: 4, gather: 20 * time.Millisecond,
		pending: map[string]*entry{}, wake: make(chan struct{}, 1)}
}

// Set records the status a pod should have; it is written soon unless the
// object already says so.
func (m *Manager) Set(pod *corev1.Pod, st *corev1.PodStatus) {
	st = Normalize(st)
	meta := pod.GetMetadata()
	e := &entry{uid: meta.GetUid(), namespace: meta.GetNamespace(), name: meta.GetName(), status: st}
	if staticpods.IsStatic(pod) {
		e.static = meta.GetUid()
	}
	if cur, ok := m.lookup(meta.GetNamespace(), meta.GetName()); ok && e.owns(cur) &&
		proto.Equal(Normalize(cur.GetStatus()), st) {
		m.mu.Lock()
		delete(m.pending, meta.GetUid())
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	m.pending[meta.GetUid()] = e
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Forget drops what is pending for a pod whose object is gone.
func (m *Manager) Forget(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, uid)
}

// Run writes pending statuses until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(m.gather):
		}
		m.mu.Lock()
		batch := m.pending
		m.pending = map[string]*entry{}
		m.mu.Unlock()
		m.writeAll(ctx, batch)
	}
}

func (m *Manager) writeAll(ctx context.Context, batch map[string]*entry) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(m.workers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for uid := range work {
				if err := m.write(ctx, batch[uid]); err != nil && ctx.Err() == nil {
					slog.DebugContext(ctx, "write pod status, will retry", "pod", batch[uid].namespace+"/"+batch[uid].name, "err", err)
					m.retry(uid, batch[uid])
				}
			}
		}()
	}
	for uid := range batch {
		work <- uid
	}
	close(work)
	wg.Wait()
}

// retry puts a failed write back unless a newer status came meanwhile.
func (m *Manager) retry(uid string, e *entry) {
	m.mu.Lock()
	if _, newer := m.pending[uid]; !newer {
		m.pending[uid] = e
	}
	m.mu.Unlock()
	time.AfterFunc(200*time.Millisecond, func() {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	})
}

func (m *Manager) write(ctx context.Context, e *entry) error {
	pods := m.c.CoreV1().Pods(e.namespace)
	cur, ok := m.lookup(e.namespace, e.name)
	if !ok || !e.owns(cur) {
		var err error
		if cur, err = pods.Get(ctx, e.name); err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
		if !e.owns(cur) {
			return nil // another pod of the same name, or no mirror yet
		}
	}
	if proto.Equal(Normalize(cur.GetStatus()), e.status) {
		return nil
	}
	// While the pod starts or is deleted the write continues its trace (a
	// write in a trace of its own would replace the pod's annotation with
	// one that holds only it); a settled pod's later changes are not part
	// of the write that made it.
	if ContinuesTrace(cur) {
		ctx = telemetry.ContextFromAnnotations(ctx, cur.GetMetadata().GetAnnotations())
	}
	upd := proto.Clone(cur).(*corev1.Pod)
	upd.Status = e.status
	_, err := pods.UpdateStatus(ctx, upd, client.WriteOptions{FieldManager: "kubelet"})
	if client.IsConflict(err) {
		// The cache is behind: read the object and try once more.
		fresh, gerr := pods.Get(ctx, e.name)
		if gerr != nil || !e.owns(fresh) {
			return err
		}
		fresh.Status = e.status
		_, err = pods.UpdateStatus(ctx, fresh, client.WriteOptions{FieldManager: "kubelet"})
	}
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// Normalize returns a copy of a status with every timestamp cut to whole
// seconds, the precision the API keeps, so comparing with a stored status
// sees no false differences.
func Normalize(st *corev1.PodStatus) *corev1.PodStatus {
	if st == nil {
		return &corev1.PodStatus{}
	}
	out := proto.Clone(st).(*corev1.PodStatus)
	truncate(out.ProtoReflect())
	return out
}

func truncate(m protoreflect.Message) {
	if ts, ok := m.Interface().(*timestamppb.Timestamp); ok {
		ts.Nanos = 0
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				truncate(v.List().Get(i).Message())
			}
		case fd.IsMap():
		case fd.Message() != nil:
			truncate(v.Message())
		}
		return true
	})
}

// ContinuesTrace reports whether the kubelet's work on pod (its syncs
// and status writes) joins the trace of the write stored on it: while the
// pod starts (until it runs with every container ready) and while it is
// deleted. The periodic syncs of a
// settled pod are not part of the write that made it; joining them would
// stretch that trace for as long as the pod lives.
func ContinuesTrace(pod *corev1.Pod) bool {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		return true
	}
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false
	case "Running":
		for _, c := range pod.GetStatus().GetConditions() {
			if c.GetType() == "Ready" {
				return c.GetStatus() != "True"
			}
		}
	}
	return true
}
