package pluginproc

import (
	"log/slog"
	"os"
)

// stderr is the plugin program's standard error as it started: go-plugin's
// Serve points os.Stderr elsewhere (to the host's plain output), while the
// host parses the lines written here as log records.
var stderr = os.Stderr

// Logger is for plugin programs: it writes JSON lines to stderr that the
// host's go-plugin client understands, so they appear in the host's log at
// their own level, named after the plugin. It may be made before or after
// the plugin starts serving.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

func levelName(v any) string {
	l, _ := v.(slog.Level)
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}
