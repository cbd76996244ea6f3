package crilog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Entry
		wantErr    bool
	}{
		{name: "full", line: "2024-05-01T10:00:00.123456789Z stdout F hello world",
			want: Entry{Time: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC), Stream: "stdout", Text: []byte("hello world")}},
		{name: "partial stderr", line: "2024-05-01T10:00:00Z stderr P part",
			want: Entry{Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Stream: "stderr", Partial: true, Text: []byte("part")}},
		{name: "empty text", line: "2024-05-01T10:00:00Z stdout F",
			want: Entry{Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Stream: "stdout", Text: nil}},
		{name: "tag with more flags", line: "2024-05-01T10:00:00Z stdout F:x a",
			want: Entry{Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Stream: "stdout", Text: []byte("a")}},
		{name: "bad time", line: "yesterday stdout F a", wantErr: true},
		{name: "bad stream", line: "2024-05-01T10:00:00Z stdin F a", wantErr: true},
		{name: "bad tag", line: "2024-05-01T10:00:00Z stdout X a", wantErr: true},
		{name: "no fields", line: "garbage", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEntry([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial || !bytes.Equal(got.Text, tc.want.Text) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// base is the time of the first entry of testLog; entry i is i seconds later.
var base = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func at(i int) string { return base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano) }

// testLog has five lines: one of them in three partial entries, a
// malformed line in between, and a stderr line.
var testLog = strings.Join([]string{
	at(0) + " stdout F one",
	at(1) + " stdout P tw",
	at(2) + " stdout P o",
	"not an entry",
	at(4) + " stdout F !",
	at(5) + " stderr F err",
	at(6) + " stdout F three",
	at(7) + " stdout F four",
}, "\n") + "\n"

func writeLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func never(context.Context) bool { return false }

func TestReadFile(t *testing.T) {
	all := "one\ntwo!\nerr\nthree\nfour\n"
	for _, tc := range []struct {
		name    string
		content string
		opts    Options
		want    string
	}{
		{name: "all", content: testLog, opts: Options{TailLines: -1}, want: all},
		{name: "tail 1", content: testLog, opts: Options{TailLines: 1}, want: "four\n"},
		{name: "tail 3", content: testLog, opts: Options{TailLines: 3}, want: "err\nthree\nfour\n"},
		{name: "tail 4 starts at the partial line", content: testLog, opts: Options{TailLines: 4}, want: "two!\nerr\nthree\nfour\n"},
		{name: "tail 0", content: testLog, opts: Options{TailLines: 0}, want: ""},
		{name: "tail more than there is", content: testLog, opts: Options{TailLines: 100}, want: all},
		{name: "since", content: testLog, opts: Options{TailLines: -1, Since: base.Add(5 * time.Second)}, want: "err\nthree\nfour\n"},
		{name: "since a joined line's first entry", content: testLog, opts: Options{TailLines: -1, Since: base.Add(time.Second)}, want: "two!\nerr\nthree\nfour\n"},
		{name: "since after a joined line's first entry", content: testLog, opts: Options{TailLines: -1, Since: base.Add(2 * time.Second)}, want: "err\nthree\nfour\n"},
		{name: "tail then since", content: testLog, opts: Options{TailLines: 2, Since: base.Add(7 * time.Second)}, want: "four\n"},
		{name: "timestamps", content: testLog, opts: Options{TailLines: 2, Timestamps: true},
			want: "2024-05-01T10:00:06.000000000Z three\n2024-05-01T10:00:07.000000000Z four\n"},
		{name: "timestamps of a joined line are its first entry's", content: testLog, opts: Options{TailLines: 4, LimitBytes: 36, Timestamps: true},
			want: "2024-05-01T10:00:01.000000000Z two!\n"},
		{name: "limit bytes", content: testLog, opts: Options{TailLines: -1, LimitBytes: 6}, want: "one\ntw"},
		{name: "limit at a line end", content: testLog, opts: Options{TailLines: -1, LimitBytes: 4}, want: "one\n"},
		{name: "streams joined apart", content: at(0) + " stdout P a\n" + at(1) + " stderr F b\n" + at(2) + " stdout F c\n", opts: Options{TailLines: -1}, want: "b\nac\n"},
		{name: "unfinished last line", content: at(0) + " stdout F a\n" + at(1) + " stdout P b", opts: Options{TailLines: -1}, want: "a\nb"},
		{name: "tail 1 of an unfinished last line", content: at(0) + " stdout F a\n" + at(1) + " stdout P b\n", opts: Options{TailLines: 1}, want: "b"},
		{name: "empty file", content: "", opts: Options{TailLines: 5}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ReadFile(context.Background(), writeLog(t, tc.content), tc.opts, &out, never); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestTailLongFile(t *testing.T) {
	// Lines across many backward chunks, and one line longer than a chunk.
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "%s stdout F line %d\n", at(i), i)
	}
	long := strings.Repeat("x", 3*tailChunk)
	fmt.Fprintf(&b, "%s stdout F %s\n", at(5000), long)
	fmt.Fprintf(&b, "%s stdout F last\n", at(5001))
	path := writeLog(t, b.String())
	for _, tc := range []struct {
		tail int64
		want string
	}{
		{1, "last\n"},
		{2, long + "\nlast\n"},
		{3, "line 4999\n" + long + "\nlast\n"},
	} {
		var out bytes.Buffer
		if err := ReadFile(context.Background(), path, Options{TailLines: tc.tail}, &out, never); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("tail %d: got %d bytes starting %.40q, want %d bytes starting %.40q", tc.tail, out.Len(), out.String(), len(tc.want), tc.want)
		}
	}
	var out bytes.Buffer
	if err := ReadFile(context.Background(), path, Options{TailLines: 4000}, &out, never); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\n"); got != 4000 {
		t.Errorf("tail 4000: got %d lines", got)
	}
	if !strings.HasPrefix(out.String(), "line 1002\n") {
		t.Errorf("tail 4000: starts %.20q, want line 1002", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while a follower writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollow(t *testing.T) {
	path := writeLog(t, at(0)+" stdout F first\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var alive atomic.Bool
	alive.Store(true)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ReadFile(context.Background(), path, Options{TailLines: -1, Follow: true, Poll: 5 * time.Millisecond}, &out,
			func(context.Context) bool { return alive.Load() })
	}()
	waitFor(t, "the first line", func() bool { return out.String() == "first\n" })

	// A line written in two writes, the first without its newline.
	_, _ = f.WriteString(at(1) + " stdout P sec")
	_, _ = f.WriteString("ond-a\n" + at(2) + " stdout F -b\n")
	waitFor(t, "the joined second line", func() bool { return out.String() == "first\nsecond-a-b\n" })

	// Written just before the container ends: still printed.
	_, _ = f.WriteString(at(3) + " stdout F last\n")
	alive.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end after the container stopped")
	}
	if got, want := out.String(), "first\nsecond-a-b\nlast\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	path := writeLog(t, at(0)+" stdout F first\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out syncBuffer
	go func() {
		done <- ReadFile(ctx, path, Options{TailLines: -1, Follow: true, Poll: 5 * time.Millisecond}, &out,
			func(context.Context) bool { return true })
	}()
	waitFor(t, "the first line", func() bool { return out.String() == "first\n" })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end with its context")
	}
}
