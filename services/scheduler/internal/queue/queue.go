// Package queue is the scheduling queue: pending pods wait in an active
// heap (higher priority first, then oldest), pods that failed with an
// error wait out a back-off, and pods no node fits wait in an
// unschedulable pool until the cluster changes in a way that could help
// them.
package queue

import (
	"container/heap"
	"context"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/clock"
)

// QueuedPod is a pod with its scheduling history.
type QueuedPod struct {
	Pod      *corev1.Pod
	Attempts int
	// Added is when the pod first entered the queue.
	Added time.Time
	// Timestamp orders pods of equal priority: when the pod entered the
	// queue, or came back to it after a failed attempt, so a pod that
	// failed waits behind those that have not been tried since (as
	// Kubernetes' PrioritySort orders them).
	Timestamp time.Time
	// cycle is the move generation when the pod was popped.
	cycle int64
	index int
}

// Options tune the queue.
type Options struct {
	InitialBackoff time.Duration // 1s
	MaxBackoff     time.Duration // 10s
	// MaxUnschedulable is how long a pod stays in the unschedulable pool
	// without a cluster event before it is retried anyway (5 minutes).
	MaxUnschedulable time.Duration
	Clock            clock.Clock
}

// Queue holds pending pods by uid.
type Queue struct {
	opts Options

	mu            sync.Mutex
	cond          *sync.Cond
	active        activeHeap
	backoff       map[string]*backoffEntry
	unschedulable map[string]*backoffEntry
	known         map[string]*QueuedPod // every pod in the queue or being scheduled
	moves         int64                 // cluster events that could help unschedulable pods
	closed        bool
}

type backoffEntry struct {
	qp    *QueuedPod
	until time.Time
}

// New builds a queue; Run moves waiting pods along until ctx ends.
func New(opts Options) *Queue {
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.MaxUnschedulable == 0 {
		opts.MaxUnschedulable = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	q := &Queue{opts: opts, backoff: map[string]*backoffEntry{}, unschedulable: map[string]*backoffEntry{}, known: map[string]*QueuedPod{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func uid(p *corev1.Pod) string { return p.GetMetadata().GetUid() }

// Add queues a new pending pod, or refreshes one already queued; an
// unschedulable pod whose spec or labels changed is retried, as the change
// may let it fit (a change to its status alone, such as the scheduler's own
// condition, is not).
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp, ok := q.known[uid(pod)]; ok {
		changed := !sameSchedulingInput(qp.Pod, pod)
		qp.Pod = pod
		if e, waiting := q.unschedulable[uid(pod)]; waiting && changed {
			delete(q.unschedulable, uid(pod))
			q.pushLocked(e.qp)
		}
		return
	}
	now := q.opts.Clock.Now()
	qp := &QueuedPod{Pod: pod, Added: now, Timestamp: now}
	q.known[uid(pod)] = qp
	q.pushLocked(qp)
}

// sameSchedulingInput reports whether two versions of a pod would be
// scheduled alike: same spec, labels and annotations.
func sameSchedulingInput(a, b *corev1.Pod) bool {
	return proto.Equal(a.GetSpec(), b.GetSpec()) &&
		maps.Equal(a.GetMetadata().GetLabels(), b.GetMetadata().GetLabels()) &&
		maps.Equal(a.GetMetadata().GetAnnotations(), b.GetMetadata().GetAnnotations())
}

func (q *Queue) pushLocked(qp *QueuedPod) {
	heap.Push(&q.active, qp)
	q.cond.Signal()
}

// Delete forgets a pod (deleted, or bound by someone else).
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := uid(pod)
	qp, ok := q.known[id]
	if !ok {
		return
	}
	delete(q.known, id)
	delete(q.backoff, id)
	delete(q.unschedulable, id)
	if qp.index >= 0 && qp.index < len(q.active) && q.active[qp.index] == qp {
		heap.Remove(&q.active, qp.index)
	}
}

// Pop blocks until a pod is ready or ctx ends.
func (q *Queue) Pop(ctx context.Context) (*QueuedPod, bool) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.active) == 0 && !q.closed && ctx.Err() == nil {
		q.cond.Wait()
	}
	if len(q.active) == 0 {
		return nil, false
	}
	qp := heap.Pop(&q.active).(*QueuedPod)
	qp.Attempts++
	qp.cycle = q.moves
	return qp, true
}

// Done forgets a pod that was scheduled.
func (q *Queue) Done(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[uid(qp.Pod)] == qp {
		delete(q.known, uid(qp.Pod))
	}
}

// Unschedulable parks a pod no node fits. If the cluster changed while it
// was being scheduled, it goes to back-off instead, so the change is not
// missed.
func (q *Queue) Unschedulable(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[uid(qp.Pod)] != qp {
		return // deleted meanwhile
	}
	qp.Timestamp = q.opts.Clock.Now()
	if q.moves != qp.cycle {
		q.backoff[uid(qp.Pod)] = &backoffEntry{qp: qp, until: qp.Timestamp.Add(q.backoffOf(qp))}
		return
	}
	q.unschedulable[uid(qp.Pod)] = &backoffEntry{qp: qp, until: q.opts.Clock.Now().Add(q.opts.MaxUnschedulable)}
}

// Backoff parks a pod whose attempt failed with an error.
func (q *Queue) Backoff(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[uid(qp.Pod)] != qp {
		return
	}
	qp.Timestamp = q.opts.Clock.Now()
	q.backoff[uid(qp.Pod)] = &backoffEntry{qp: qp, until: qp.Timestamp.Add(q.backoffOf(qp))}
}

func (q *Queue) backoffOf(qp *QueuedPod) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < qp.Attempts && d < q.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, q.opts.MaxBackoff)
}

// MoveAll is told about a cluster change that could make unschedulable
// pods fit (a node added or changed, a pod removed): they go to back-off
// (or straight to active if their back-off is over).
func (q *Queue) MoveAll() { q.MoveIf(nil) }

// MoveIf is MoveAll for a change that can help only some pods, as
// Kubernetes' queueing hints: a storage object's change moves the pods
// that use claims, and no others; a nil hint moves every pod. Pods being
// scheduled now go to back-off when they fail only if the hint admits them.
func (q *Queue) MoveIf(hint func(*corev1.Pod) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if hint == nil {
		q.moves++
	} else {
		for _, qp := range q.known {
			if qp.index < 0 && hint(qp.Pod) {
				qp.cycle = -1 // in flight: a failure goes to back-off
			}
		}
	}
	now := q.opts.Clock.Now()
	for id, e := range q.unschedulable {
		if hint != nil && !hint(e.qp.Pod) {
			continue
		}
		delete(q.unschedulable, id)
		q.backoff[id] = &backoffEntry{qp: e.qp, until: now}
	}
	q.flushLocked(now)
}

// flushLocked moves due pods to active.
func (q *Queue) flushLocked(now time.Time) {
	for id, e := range q.backoff {
		if !e.until.After(now) {
			delete(q.backoff, id)
			q.pushLocked(e.qp)
		}
	}
	for id, e := range q.unschedulable {
		if !e.until.After(now) {
			delete(q.unschedulable, id)
			q.pushLocked(e.qp)
		}
	}
}

// Run moves pods whose back-off ended to active, until ctx ends; then it
// wakes every Pop.
func (q *Queue) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			q.mu.Lock()
			q.closed = true
			q.cond.Broadcast()
			q.mu.Unlock()
			return
		case <-q.opts.Clock.After(100 * time.Millisecond):
		}
		q.mu.Lock()
		q.flushLocked(q.opts.Clock.Now())
		q.mu.Unlock()
	}
}

// Len is the number of pods per state: active, backoff, unschedulable.
func (q *Queue) Len() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active), len(q.backoff), len(q.unschedulable)
}

// activeHeap orders pods by priority, then by their Timestamp.
type activeHeap []*QueuedPod

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	pi, pj := h[i].Pod.GetSpec().GetPriority(), h[j].Pod.GetSpec().GetPriority()
	if pi != pj {
		return pi > pj
	}
	return h[i].Timestamp.Before(h[j].Timestamp)
}
func (h activeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *activeHeap) Push(x any) {
	qp := x.(*QueuedPod)
	qp.index = len(*h)
	*h = append(*h, qp)
}
func (h *activeHeap) Pop() any {
	old := *h
	qp := old[len(old)-1]
	old[len(old)-1] = nil
	qp.index = -1
	*h = old[:len(old)-1]
	return qp
}
