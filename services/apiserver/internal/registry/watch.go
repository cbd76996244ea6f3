package registry

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

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

// newWatcher forwards src; initial objects go first as ADDED events,
// followed by the end bookmark when there is one.
func newWatcher(ctx context.Context, src storage.Watcher, s *Store, initial []proto.Message, end proto.Message) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{src: src, out: make(chan Event), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, s, initial, end)
	return w
}

func (w *watcher) run(ctx context.Context, s *Store, initial []proto.Message, end proto.Message) {
	defer close(w.done)
	defer close(w.out)
	defer w.src.Stop()
	send := func(ev Event) bool {
		select {
		case w.out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, obj := range initial {
		if !send(Event{Type: Added, Object: s.finish(obj)}) {
			return
		}
	}
	if end != nil && !send(Event{Type: Bookmark, Object: s.finish(end)}) {
		return
	}
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

// errWatcher is a watch that failed to start: its one event is the
// failure's Status.
type errWatcher struct{ ch chan Event }

func newErrWatcher(err error) *errWatcher {
	ch := make(chan Event, 1)
	ch <- Event{Type: Error, Object: apierrors.ToStatus(err)}
	close(ch)
	return &errWatcher{ch: ch}
}

func (w *errWatcher) ResultChan() <-chan Event { return w.ch }

// Stop does nothing: the watch has ended already.
func (w *errWatcher) Stop() {}
