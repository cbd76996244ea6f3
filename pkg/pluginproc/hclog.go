package pluginproc

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hcLogger is go-plugin's logger on top of slog: go-plugin's own lines and
// the plugin's stderr lines, which it parses, reach the host's slog logger
// at their level with the plugin's name.
type hcLogger struct {
	log   *slog.Logger
	name  string
	level slog.Level
	args  []any
}

var _ hclog.Logger = (*hcLogger)(nil)

func newHCLogger(l *slog.Logger, name string, level slog.Level) *hcLogger {
	return &hcLogger{log: l, name: name, level: level}
}

// slogLevel maps hclog's levels; Trace is below Debug.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// hclogLevel is the hclog level of a slog level.
func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelDebug:
		return hclog.Trace
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	l := slogLevel(level)
	if l < h.level {
		return
	}
	attrs := append([]any{"plugin", h.name}, h.args...)
	h.log.Log(context.Background(), l, msg, append(attrs, args...)...)
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(l hclog.Level) bool {
	return slogLevel(l) >= h.level && h.log.Enabled(context.Background(), slogLevel(l))
}

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return h.args }

func (h *hcLogger) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any{}, h.args...), args...)
	return &c
}

func (h *hcLogger) Name() string { return h.name }

// Named keeps the plugin's name: go-plugin adds the program's file name,
// which says nothing the plugin's name does not.
func (h *hcLogger) Named(string) hclog.Logger { return h }

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

func (h *hcLogger) SetLevel(l hclog.Level) { h.level = slogLevel(l) }

func (h *hcLogger) GetLevel() hclog.Level { return hclogLevel(h.level) }

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(h.log.With("plugin", h.name).Handler(), slog.LevelInfo).Writer()
}

// lineWriter logs each line written to it, for what a plugin prints to
// its standard output and error without a logger.
type lineWriter struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

// maxLine is where a line without an end is logged anyway.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 && len(w.buf) < maxLine {
			return len(p), nil
		}
		if i < 0 {
			i = len(w.buf)
		}
		w.log.Info(string(bytes.TrimRight(w.buf[:i], "\r")), "stream", w.stream)
		w.buf = w.buf[min(i+1, len(w.buf)):]
	}
}
