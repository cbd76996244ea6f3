package pluginproc

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one line", []string{"a\n"}, []string{"a"}},
		{"split line", []string{"a", "b\nc", "\n"}, []string{"ab", "c"}},
		{"two lines in one write", []string{"a\r\nb\n"}, []string{"a", "b"}},
		{"no end yet", []string{"a\nb"}, []string{"a"}},
		{"overlong", []string{strings.Repeat("x", maxLine), "y\n"}, []string{strings.Repeat("x", maxLine), "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r records
			w := &lineWriter{log: slog.New(&r), stream: "stderr"}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("write %q: %d, %v", s, n, err)
				}
			}
			var got []string
			for _, rec := range r.list {
				got = append(got, rec.Message)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines: got %d (%.40q), want %d (%.40q)", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func TestHCLogLevels(t *testing.T) {
	var r records
	h := newHCLogger(slog.New(&r), "plugin.x", slog.LevelInfo)
	h.Debug("dropped")
	h.With("k", "v").Warn("kept", "n", 1)
	if len(r.list) != 1 || r.list[0].Message != "kept" || r.list[0].Level != slog.LevelWarn || r.list[0].NumAttrs() != 3 {
		t.Fatalf("records: %+v", r.list)
	}
	if h.IsDebug() || !h.IsInfo() || h.GetLevel().String() != "info" {
		t.Fatalf("levels: debug %v, info %v, level %v", h.IsDebug(), h.IsInfo(), h.GetLevel())
	}
}
