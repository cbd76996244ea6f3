package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Backend modes, as Kubernetes names them.
const (
	// ModeBlocking never drops an event: when the buffer is full a
	// request waits until the backend has taken its event.
	ModeBlocking = "blocking"
	// ModeBatch drops events when the buffer is full, so requests never
	// wait on the backend.
	ModeBatch = "batch"
)

// LogConfig is the log backend's settings (the --audit-log-* flags).
type LogConfig struct {
	// Path is the file, or "-" for standard output.
	Path string
	// MaxAge is the days rotated files are kept (0: no limit), MaxBackups
	// how many are kept (0: no limit), MaxSize the megabytes a file
	// reaches before it is rotated (0: lumberjack's 100).
	MaxAge, MaxBackups, MaxSize int
	// Compress gzips rotated files.
	Compress bool
	// Format is "json", the only one written.
	Format string
	// Mode is ModeBlocking or ModeBatch; BufferSize the events waiting
	// for the disk.
	Mode       string
	BufferSize int
}

// Validate checks the settings.
func (c LogConfig) Validate() []error {
	var errs []error
	if c.Path == "" {
		return nil
	}
	if c.Format != "json" {
		errs = append(errs, fmt.Errorf("--audit-log-format %q: only json is written", c.Format))
	}
	if c.Mode != ModeBlocking && c.Mode != ModeBatch {
		errs = append(errs, fmt.Errorf("--audit-log-mode %q: want %s or %s", c.Mode, ModeBlocking, ModeBatch))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--audit-log-maxage", c.MaxAge}, {"--audit-log-maxbackup", c.MaxBackups}, {"--audit-log-maxsize", c.MaxSize}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d can't be a negative number", f.name, f.v))
		}
	}
	if c.BufferSize <= 0 {
		errs = append(errs, fmt.Errorf("--audit-log-batch-buffer-size %d must be positive", c.BufferSize))
	}
	return errs
}

// Log writes events as JSON lines to a file that lumberjack rotates (as
// Kubernetes' log backend does), or to standard output. Requests hand their
// events to a buffer that one goroutine writes out, so a request waits on
// the disk only when the buffer is full (blocking mode), or never (batch
// mode, which then drops events).
type Log struct {
	out      io.Writer
	closer   io.Closer
	events   chan []byte
	blocking bool
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	dropped  atomic.Int64
}

// NewLog opens the log (creating it with mode 0600 and its directory with
// 0700) and starts writing.
func NewLog(c LogConfig) (*Log, error) {
	var out io.Writer = os.Stdout
	var closer io.Closer
	if c.Path != "-" {
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		f, err := os.OpenFile(c.Path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		_ = f.Close()
		lj := &lumberjack.Logger{Filename: c.Path, MaxAge: c.MaxAge, MaxBackups: c.MaxBackups, MaxSize: c.MaxSize, Compress: c.Compress}
		out, closer = lj, lj
	}
	size := c.BufferSize
	if size <= 0 {
		size = 10000
	}
	l := &Log{out: out, closer: closer, events: make(chan []byte, size), blocking: c.Mode != ModeBatch,
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l, nil
}

// Process queues an event; false when the backend has stopped, or in
// batch mode when the buffer is full (the event is dropped).
func (l *Log) Process(event []byte) bool {
	select {
	case <-l.stop:
		return false
	default:
	}
	if !l.blocking {
		select {
		case l.events <- event:
			return true
		default:
			if l.dropped.Add(1)%1000 == 1 {
				slog.Warn("audit log buffer full, dropping events", "dropped", l.dropped.Load())
			}
			return true
		}
	}
	select {
	case l.events <- event:
		return true
	case <-l.stop:
		return false
	}
}

// run writes the events. Each write to the file holds whole lines (the
// rotation happens between writes, so no line is split between files):
// up to 64 KiB of them, or fewer when no more are waiting.
func (l *Log) run() {
	defer close(l.done)
	const chunk = 64 << 10
	buf := make([]byte, 0, chunk)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if _, err := l.out.Write(buf); err != nil {
			slog.Error("writing the audit log", "err", err)
		}
		buf = buf[:0]
	}
	add := func(ev []byte) {
		if len(buf) > 0 && len(buf)+len(ev)+1 > chunk {
			flush()
		}
		buf = append(append(buf, ev...), '\n')
	}
	for {
		select {
		case ev := <-l.events:
			add(ev)
			if len(l.events) == 0 {
				flush()
			}
		case <-l.stop:
			for {
				select {
				case ev := <-l.events:
					add(ev)
				default:
					flush()
					return
				}
			}
		}
	}
}

// Shutdown writes what is buffered and closes the file, or gives up when
// ctx ends.
func (l *Log) Shutdown(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.closer != nil {
		return l.closer.Close()
	}
	return nil
}

// Union hands every event to each of its sinks.
type Union []Sink

// Process hands the event on; true when every sink took it.
func (u Union) Process(event []byte) bool {
	ok := true
	for _, s := range u {
		ok = s.Process(event) && ok
	}
	return ok
}
