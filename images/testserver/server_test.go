package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReady(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ready")
	h := newHandler(options{readyFile: file}, time.Now())
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
		return rec.Code
	}
	if got := get(); got != http.StatusServiceUnavailable {
		t.Fatalf("without %s: got %d, want 503", file, got)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != http.StatusOK {
		t.Fatalf("with %s: got %d, want 200", file, got)
	}
	rec := httptest.NewRecorder()
	newHandler(options{}, time.Now()).ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("without -ready-file: got %d, want 200", rec.Code)
	}
}

func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   options
		signal bool
		code   int
		stdout string // a prefix of stdout
		stderr string
	}{
		{name: "exit after", opts: options{exit: 4, exitAfter: time.Millisecond}, code: 4, stderr: "exiting with 4 after 1ms as asked\n"},
		{name: "exit after without code", opts: options{exit: -1, exitAfter: time.Millisecond}, stderr: "exiting with 0 after 1ms as asked\n"},
		{name: "term delay", opts: options{exit: -1, termDelay: time.Millisecond}, signal: true, stdout: "terminating\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := make(chan os.Signal, 1)
			if tc.signal {
				sigs <- syscall.SIGTERM
			}
			var stdout, stderr bytes.Buffer
			code := wait(tc.opts, &stdout, &stderr, sigs, make(chan error))
			if code != tc.code {
				t.Errorf("got exit code %d, want %d", code, tc.code)
			}
			if !strings.HasPrefix(stdout.String(), tc.stdout) {
				t.Errorf("got stdout %q, want it to start with %q", stdout.String(), tc.stdout)
			}
			if !strings.HasPrefix(stderr.String(), tc.stderr) {
				t.Errorf("got stderr %q, want it to start with %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// TestLogEvery stops the server once it has logged two lines.
func TestLogEvery(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	stdout := &signalAfter{text: "log line 2\n", sigs: sigs}
	code := wait(options{exit: -1, logEvery: time.Millisecond}, stdout, &bytes.Buffer{}, sigs, make(chan error))
	if got := stdout.String(); code != 0 || !strings.HasPrefix(got, "log line 1\nlog line 2\n") || !strings.HasSuffix(got, "terminating\n") {
		t.Fatalf("got exit code %d and stdout %q, want 0 and two numbered lines then terminating", code, got)
	}
}

// signalAfter is a buffer that sends SIGTERM to sigs once it holds text.
type signalAfter struct {
	bytes.Buffer
	text string
	sigs chan<- os.Signal
	sent bool
}

func (s *signalAfter) Write(p []byte) (int, error) {
	n, err := s.Buffer.Write(p)
	if !s.sent && strings.Contains(s.String(), s.text) {
		s.sigs <- syscall.SIGTERM
		s.sent = true
	}
	return n, err
}
