package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
)

// persistent keeps the manifests of an in-memory registry in an
// append-only log: every accepted manifest PUT or DELETE is written to the
// log, and a new process replays the log into its registry before serving.
type persistent struct {
	next     http.Handler
	mu       sync.Mutex
	log      *os.File
	replayed int
}

// entry is one line of the log.
type entry struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	ContentType string `json:"contentType,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

func newPersistent(next http.Handler, path string) (*persistent, error) {
	p := &persistent{next: next}
	if err := p.replay(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	p.log = f
	return p, nil
}

// replay sends the log's requests to the registry, in order, so an index
// finds the manifests it lists. A torn last line (a crash mid-write) is
// cut off the file, so the next entry starts on a line of its own.
func (p *persistent) replay(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	complete := bytes.LastIndexByte(data, '\n') + 1
	if complete < len(data) {
		if err := os.Truncate(path, int64(complete)); err != nil {
			return fmt.Errorf("cut the torn end off %s: %w", path, err)
		}
	}
	for _, line := range bytes.Split(data[:complete], []byte("\n")) {
		var e entry
		if len(line) == 0 || json.Unmarshal(line, &e) != nil {
			continue
		}
		req := httptest.NewRequest(e.Method, e.Path, bytes.NewReader(e.Body))
		if e.ContentType != "" {
			req.Header.Set("Content-Type", e.ContentType)
		}
		rec := httptest.NewRecorder()
		p.next.ServeHTTP(rec, req)
		if rec.Code/100 != 2 && e.Method == http.MethodPut {
			return fmt.Errorf("replay %s %s: %d %s", e.Method, e.Path, rec.Code, rec.Body)
		}
		p.replayed++
	}
	return nil
}

// isManifest reports whether path names a manifest: /v2/<name>/manifests/<ref>.
func isManifest(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return false
	}
	name, ref, ok := strings.Cut(rest, "/manifests/")
	return ok && name != "" && ref != "" && !strings.Contains(ref, "/")
}

func (p *persistent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method != http.MethodPut && r.Method != http.MethodDelete) || !isManifest(r.URL.Path) {
		p.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// One writer at a time keeps the log in the order the registry saw.
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, r)
	if rec.Code/100 == 2 {
		if err := p.append(entry{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body}); err != nil {
			http.Error(w, "persist manifest: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (p *persistent) append(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := p.log.Write(append(line, '\n')); err != nil {
		return err
	}
	return p.log.Sync()
}

// Close closes the log.
func (p *persistent) Close() error { return p.log.Close() }
