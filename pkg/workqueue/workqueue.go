// Package workqueue is the queue controllers work from: items are
// de-duplicated (an item queued twice is processed once), an item is never
// processed by two workers at once, and failed items come back after an
// exponential, per-item back-off.
package workqueue

import (
	"container/heap"
	"sync"
	"time"

	"skiff.dev/pkg/clock"
)

// Options tune a queue; zero values take the defaults.
type Options struct {
	// BaseDelay is the first back-off of a failing item (default 5ms); it
	// doubles with every failure up to MaxDelay (default 1000s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Clock     clock.Clock
}

// Queue is a rate-limited work queue of comparable items (keys such as
// "namespace/name").
type Queue[T comparable] struct {
	opts Options

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []T
	dirty      map[T]struct{} // queued or to be queued again after Done
	processing map[T]struct{}
	failures   map[T]int
	waiting    delayHeap[T]
	wake       chan struct{}
	shutdown   bool
	done       chan struct{}
}

// New starts a queue. ShutDown stops it.
func New[T comparable](opts Options) *Queue[T] {
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 5 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 1000 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	q := &Queue[T]{opts: opts, dirty: map[T]struct{}{}, processing: map[T]struct{}{}, failures: map[T]int{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.delayLoop()
	return q
}

// Add queues an item unless it is queued already. An item being processed
// is queued again once its worker calls Done.
func (q *Queue[T]) Add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(item)
}

func (q *Queue[T]) addLocked(item T) {
	if q.shutdown {
		return
	}
	if _, ok := q.dirty[item]; ok {
		return
	}
	q.dirty[item] = struct{}{}
	if _, busy := q.processing[item]; busy {
		return
	}
	q.queue = append(q.queue, item)
	q.cond.Signal()
}

// AddAfter queues an item once d has passed.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	heap.Push(&q.waiting, delayed[T]{item: item, at: q.opts.Clock.Now().Add(d)})
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// AddRateLimited queues an item after its back-off: BaseDelay doubled for
// every failure since the last Forget, at most MaxDelay.
func (q *Queue[T]) AddRateLimited(item T) {
	q.mu.Lock()
	n := q.failures[item]
	q.failures[item] = n + 1
	q.mu.Unlock()
	q.AddAfter(item, q.backoff(n))
}

func (q *Queue[T]) backoff(failures int) time.Duration {
	d := q.opts.BaseDelay
	for i := 0; i < failures && d < q.opts.MaxDelay; i++ {
		d *= 2
	}
	return min(d, q.opts.MaxDelay)
}

// Forget clears an item's failures, after it was processed successfully.
func (q *Queue[T]) Forget(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, item)
}

// NumRequeues is how many times the item failed since the last Forget.
func (q *Queue[T]) NumRequeues(item T) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[item]
}

// Get blocks until an item is ready and marks it being processed; ok is
// false once the queue is shut down and drained.
func (q *Queue[T]) Get() (item T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return item, false
	}
	item = q.queue[0]
	var zero T
	q.queue[0] = zero
	q.queue = q.queue[1:]
	q.processing[item] = struct{}{}
	delete(q.dirty, item)
	return item, true
}

// Done ends the processing of an item; if it was added meanwhile, it is
// queued again.
func (q *Queue[T]) Done(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, item)
	if _, again := q.dirty[item]; again && !q.shutdown {
		q.queue = append(q.queue, item)
		q.cond.Signal()
	}
}

// Len is how many items are ready.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown stops the queue: Get returns what is queued, then ok=false;
// delayed items are dropped. It waits for the queue's own goroutine.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	if !q.shutdown {
		q.shutdown = true
		q.cond.Broadcast()
		close(q.wake)
	}
	q.mu.Unlock()
	<-q.done
}

// ShuttingDown reports whether ShutDown was called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shutdown
}

// delayLoop moves delayed items into the queue when they are due.
func (q *Queue[T]) delayLoop() {
	defer close(q.done)
	for {
		q.mu.Lock()
		now := q.opts.Clock.Now()
		for q.waiting.Len() > 0 && !q.waiting[0].at.After(now) {
			q.addLocked(heap.Pop(&q.waiting).(delayed[T]).item)
		}
		var timer <-chan time.Time
		if q.waiting.Len() > 0 {
			timer = q.opts.Clock.After(q.waiting[0].at.Sub(now))
		}
		q.mu.Unlock()
		select {
		case _, open := <-q.wake:
			if !open {
				return
			}
		case <-timer:
		}
	}
}

type delayed[T any] struct {
	item T
	at   time.Time
}

// delayHeap orders delayed items by due time.
type delayHeap[T any] []delayed[T]

func (h delayHeap[T]) Len() int           { return len(h) }
func (h delayHeap[T]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap[T]) Push(x any)        { *h = append(*h, x.(delayed[T])) }
func (h *delayHeap[T]) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
