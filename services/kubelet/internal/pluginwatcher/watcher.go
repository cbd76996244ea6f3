// Package pluginwatcher registers node plugins as Kubernetes' kubelet
// does: plugins put a registration socket in <root-dir>/plugins_registry;
// the watcher dials each new socket, asks GetInfo, lets the handler of the
// plugin's type validate and register it, and answers with
// NotifyRegistrationStatus. A socket that goes away deregisters its
// plugin. The directory is polled (every Period) rather than watched
// with inotify: a poll also sees sockets made before the kubelet
// started and sockets replaced in place, and costs one ReadDir a second.
package pluginwatcher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Handler validates and registers plugins of one type (CSIPlugin).
type Handler interface {
	// ValidatePlugin says whether the plugin may register.
	ValidatePlugin(name, endpoint string, versions []string) error
	// RegisterPlugin makes the plugin usable; an error is reported to
	// the plugin, which then exits or retries as its registrar does.
	RegisterPlugin(ctx context.Context, name, endpoint string, versions []string) error
	// DeRegisterPlugin forgets the plugin whose socket went away.
	DeRegisterPlugin(ctx context.Context, name, endpoint string)
}

// DefaultPeriod is how often the registration directory is read.
const DefaultPeriod = time.Second

// Watcher polls a plugin registration directory.
type Watcher struct {
	Dir      string
	Period   time.Duration
	Handlers map[string]Handler // by plugin type, e.g. registerapi.CSIPlugin

	mu         sync.Mutex
	registered map[string]plugin // by socket path
	// pending are the sockets whose handshake is under way: each runs
	// in its own goroutine, so a plugin that does not answer holds up
	// no other.
	pending  map[string]bool
	inFlight sync.WaitGroup
	// backoff holds the sockets whose handshake failed and when each
	// may be tried again.
	backoff map[string]retry
	// now is the clock of the back-off; nil means time.Now.
	now func() time.Time
}

// The back-off of a failed handshake doubles from initialRetryDelay up
// to maxRetryDelay, Kubernetes' values for its volume and plugin
// operations (nestedpendingoperations).
const (
	initialRetryDelay = 500 * time.Millisecond
	maxRetryDelay     = 2*time.Minute + 2*time.Second
)

// retry is the back-off state of one socket.
type retry struct {
	mod   time.Time // the socket it applies to; a new socket starts afresh
	delay time.Duration
	next  time.Time
}

// plugin is a registered plugin, remembered to deregister it.
type plugin struct {
	typ, name, endpoint string
	mod                 time.Time
	// rejected plugins are remembered so they are not asked again
	// until their socket changes.
	rejected bool
}

// Run polls until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if err := os.MkdirAll(w.Dir, 0o750); err != nil {
		return fmt.Errorf("plugin registration directory: %w", err)
	}
	period := w.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		w.Sync(ctx)
		select {
		case <-ctx.Done():
			w.inFlight.Wait()
			return nil
		case <-t.C:
		}
	}
}

// Sync deregisters vanished sockets and starts the handshake with new
// ones, each in its own goroutine; Wait waits for those.
func (w *Watcher) Sync(ctx context.Context) {
	seen := w.sockets(ctx)
	w.mu.Lock()
	if w.registered == nil {
		w.registered = map[string]plugin{}
	}
	var gone []string
	for path, p := range w.registered {
		if mod, ok := seen[path]; !ok || !mod.Equal(p.mod) {
			gone = append(gone, path)
		}
	}
	for path := range w.backoff {
		if _, ok := seen[path]; !ok {
			delete(w.backoff, path)
		}
	}
	w.mu.Unlock()
	for _, path := range gone {
		w.deregister(ctx, path)
	}
	for path, mod := range seen {
		w.mu.Lock()
		_, known := w.registered[path]
		start := !known && !w.pending[path] && !w.waiting(path, mod)
		if start {
			if w.pending == nil {
				w.pending = map[string]bool{}
			}
			w.pending[path] = true
			w.inFlight.Add(1)
		}
		w.mu.Unlock()
		if start {
			go func() {
				defer w.inFlight.Done()
				w.register(ctx, path, mod)
				w.mu.Lock()
				delete(w.pending, path)
				w.mu.Unlock()
			}()
		}
	}
}

// waiting says whether the socket's last handshake failed too recently
// to try again; w.mu is held.
func (w *Watcher) waiting(path string, mod time.Time) bool {
	r, ok := w.backoff[path]
	return ok && r.mod.Equal(mod) && w.clock().Before(r.next)
}

// retryLater records a failed handshake with the socket and returns how
// long it waits before the next one.
func (w *Watcher) retryLater(path string, mod time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.backoff[path]
	switch {
	case !r.mod.Equal(mod) || r.delay == 0:
		r = retry{mod: mod, delay: initialRetryDelay}
	default:
		r.delay = min(2*r.delay, maxRetryDelay)
	}
	r.next = w.clock().Add(r.delay)
	if w.backoff == nil {
		w.backoff = map[string]retry{}
	}
	w.backoff[path] = r
	return r.delay
}

func (w *Watcher) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// Wait waits for the handshakes Sync started.
func (w *Watcher) Wait() { w.inFlight.Wait() }

// sockets lists the sockets of the directory and its subdirectories
// (names starting with a dot are skipped, as Kubernetes does) with their
// modification times, so a socket recreated in place registers again.
func (w *Watcher) sockets(ctx context.Context) map[string]time.Time {
	seen := map[string]time.Time{}
	err := filepath.WalkDir(w.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // a file gone mid-walk is no error
		}
		if strings.HasPrefix(d.Name(), ".") && path != w.Dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&os.ModeSocket != 0 {
			if fi, err := d.Info(); err == nil {
				seen[path] = fi.ModTime()
			}
		}
		return nil
	})
	if err != nil {
		slog.WarnContext(ctx, "reading the plugin registration directory", "dir", w.Dir, "err", err)
	}
	return seen
}

// Registered lists the sockets of the plugins registered now.
func (w *Watcher) Registered() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.registered))
	for path, p := range w.registered {
		if !p.rejected {
			out = append(out, path)
		}
	}
	return out
}

func (w *Watcher) deregister(ctx context.Context, path string) {
	w.mu.Lock()
	p := w.registered[path]
	delete(w.registered, path)
	w.mu.Unlock()
	if p.rejected {
		return
	}
	if h := w.Handlers[p.typ]; h != nil {
		h.DeRegisterPlugin(ctx, p.name, p.endpoint)
	}
	slog.InfoContext(ctx, "plugin deregistered", "type", p.typ, "name", p.name, "socket", path)
}

// dial connects to a unix socket without blocking.
func dial(path string) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
