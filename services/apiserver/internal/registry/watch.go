package registry

import (
	"context"
	"sync"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/storage"
)

// watcher turns storage events into API events: type fields set, errors as
// Status objects.
type watcher struct {
	src    storage.Watcher
	out    chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newWatcher(ctx context.Context, src storage.Watcher, s *Store) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{src: src, out: make(chan Event), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, s)
	return w
}

func (w *watcher) run(ctx context.Context, s *Store) {
	defer close(w.done)
	defer close(w.out)
	defer w.src.Stop()
	in := w.src.ResultChan()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-in:
			if !ok {
				return
			}
			out := Event{Type: string(ev.Type), Object: ev.Object}
			if ev.Type == storage.EventError {
				out.Object = apierrors.ToStatus(s.storageError(ev.Err, ""))
			} else {
				s.finish(out.Object)
			}
			select {
			case w.out <- out:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (w *watcher) ResultChan() <-chan Event { return w.out }

// Stop ends the watch and waits for its goroutine.
func (w *watcher) Stop() {
	w.once.Do(func() {
		w.cancel()
		<-w.done
	})
}
