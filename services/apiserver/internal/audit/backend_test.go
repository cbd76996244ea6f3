package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuditLogWritesLinesAndRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit", "audit.log")
	opts := NewOptions().Log
	opts.Path, opts.MaxSize, opts.MaxBackups = path, 1, 2
	l, err := NewLog(opts)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log file: %v %v", fi, err)
	}
	// 4 MB of events: the file is rotated at 1 MB, keeping 2 backups.
	pad := strings.Repeat("x", 1000)
	for i := range 4000 {
		if !l.Process(fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, pad)) {
			t.Fatal("event refused")
		}
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.Process([]byte(`{}`)) {
		t.Error("a stopped log took an event")
	}
	// lumberjack removes old backups in the background.
	var files []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, _ = os.ReadDir(filepath.Dir(path))
		if len(files) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(files) != 3 {
		t.Errorf("%d files, want the log and 2 backups", len(files))
	}
	// Rotation splits no line: every file holds whole events.
	for _, fe := range files {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), fe.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("%s: a line is not an event: %.60q", fe.Name(), line)
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	last := -1
	for sc.Scan() {
		var ev struct{ N int }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if last >= 0 && ev.N != last+1 {
			t.Fatalf("event %d after %d", ev.N, last)
		}
		last = ev.N
	}
	if last != 3999 {
		t.Errorf("the current file ends with event %d, want 3999", last)
	}
}

func TestAuditLogBatchModeDropsInsteadOfWaiting(t *testing.T) {
	opts := NewOptions().Log
	opts.Path, opts.Mode, opts.BufferSize = filepath.Join(t.TempDir(), "a.log"), ModeBatch, 1
	l, err := NewLog(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Shutdown(context.Background()) }()
	done := make(chan struct{})
	go func() {
		for range 10000 {
			l.Process([]byte(`{}`))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("batch mode blocked")
	}
}

func TestAuditOptionsValidate(t *testing.T) {
	o := NewOptions()
	o.Log.Path, o.Log.Format, o.Log.MaxAge, o.Log.Mode = "/tmp/x", "legacy", -1, "blocking-strict"
	o.PolicyFile = "/nonexistent/policy.yaml"
	msg := fmt.Sprint(o.Validate())
	for _, want := range []string{"--audit-log-format \"legacy\"", "--audit-log-maxage -1", "--audit-log-mode", "--audit-policy-file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: want %s", msg, want)
		}
	}
	if defaults := NewOptions(); len(defaults.Validate()) != 0 {
		t.Errorf("defaults: %v", defaults.Validate())
	}
}

func TestAuditWebhookPostsEventLists(t *testing.T) {
	var mu sync.Mutex
	var lists []EventList
	fails := 1
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer hook-token" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		if fails > 0 { // the first post fails: it is retried
			fails--
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var l EventList
		if err := json.Unmarshal(body, &l); err != nil {
			t.Errorf("%s: %v", body, err)
		}
		if !strings.HasPrefix(string(body), `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`) {
			t.Errorf("body %s", body)
		}
		lists = append(lists, l)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kubeconfig := filepath.Join(t.TempDir(), "webhook.kubeconfig")
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: sink
  cluster:
    server: %s/audit
    certificate-authority-data: %s
users:
- name: apiserver
  user:
    token: hook-token
contexts:
- name: c
  context: {cluster: sink, user: apiserver}
current-context: c
`, srv.URL, base64.StdEncoding.EncodeToString(ca)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := NewOptions().Webhook
	cfg.ConfigFile, cfg.BatchMaxSize, cfg.BatchMaxWait, cfg.InitialBackoff = kubeconfig, 2, 50*time.Millisecond, 10*time.Millisecond
	w, err := NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		w.Process(fmt.Appendf(nil, `{"kind":"Event","auditID":"%d"}`, i))
	}
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, l := range lists {
		if len(l.Items) == 0 || len(l.Items) > 2 || l.Kind != "EventList" {
			t.Errorf("batch of %d: %+v", len(l.Items), l)
		}
		for _, it := range l.Items {
			var ev Event
			_ = json.Unmarshal(it, &ev)
			seen[ev.AuditID] = true
		}
	}
	if len(seen) != 5 {
		t.Errorf("the webhook got events %v, want 0-4", seen)
	}

	// A kubeconfig naming plain HTTP is refused.
	plain := filepath.Join(t.TempDir(), "plain.kubeconfig")
	_ = os.WriteFile(plain, []byte("clusters: [{name: a, cluster: {server: 'http://127.0.0.1:1/'}}]\n"), 0o600)
	cfg.ConfigFile = plain
	if _, err := NewWebhook(cfg); err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Errorf("plain HTTP webhook: %v", err)
	}
}
