package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// newHandler serves /, /healthz, /ready, /env, /echo/ and /link for a
// server started at start.
func newHandler(o options, start time.Time) http.Handler {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, host) })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if o.unhealthyAfter > 0 && time.Since(start) > o.unhealthyAfter {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if o.readyFile != "" {
			if _, err := os.Stat(o.readyFile); err != nil {
				http.Error(w, "not ready: "+o.readyFile+" is missing", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	// /echo/ answers with the request's method, escaped path and query,
	// then its body: what a proxy in front of it passed on.
	mux.HandleFunc("/echo/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.EscapedPath())
		if r.URL.RawQuery != "" {
			fmt.Fprintf(w, "?%s", r.URL.RawQuery)
		}
		fmt.Fprintln(w)
		_, _ = io.Copy(w, r.Body)
	})
	// /link is a page with an absolute link, which a proxy in front of
	// the server rewrites to pass through it.
	mux.HandleFunc("/link", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/rewriteme">test</a>`)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		fmt.Fprintln(w, strings.Join(env, "\n"))
	})
	return mux
}

// wait logs a numbered line to stdout every o.logEvery until the server
// fails, o.exitAfter passes, or o.termDelay after a signal, and returns
// the exit code.
func wait(o options, stdout, stderr io.Writer, sigs <-chan os.Signal, served <-chan error) int {
	var ticks, exitAfter, terminated <-chan time.Time
	if o.logEvery > 0 {
		ticker := time.NewTicker(o.logEvery)
		defer ticker.Stop()
		ticks = ticker.C
	}
	if o.exitAfter > 0 {
		exitAfter = time.After(o.exitAfter)
	}
	for n := 1; ; {
		select {
		case <-ticks:
			fmt.Fprintf(stdout, "log line %d\n", n)
			n++
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(stderr, err)
			}
			return 1
		case <-exitAfter:
			code := max(o.exit, 0)
			fmt.Fprintf(stderr, "exiting with %d after %s as asked\n", code, o.exitAfter)
			return code
		case <-sigs:
			if terminated == nil {
				fmt.Fprintln(stdout, "terminating")
				terminated = time.After(o.termDelay)
			}
		case <-terminated:
			return 0
		}
	}
}
