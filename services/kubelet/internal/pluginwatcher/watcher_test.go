package pluginwatcher

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// registrar is a plugin's side of the handshake, as node-driver-registrar.
type registrar struct {
	registerapi.UnimplementedRegistrationServer
	info *registerapi.PluginInfo
	// hang makes GetInfo answer only when the caller gives up.
	hang bool

	mu     sync.Mutex
	status []*registerapi.RegistrationStatus
}

func (r *registrar) GetInfo(ctx context.Context, _ *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	if r.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return r.info, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = append(r.status, s)
	return &registerapi.RegistrationStatusResponse{}, nil
}

func (r *registrar) statuses() []*registerapi.RegistrationStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.status)
}

// serve runs r on a socket at path until the test ends.
func serve(t *testing.T, path string, r *registrar) *grpc.Server {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	registerapi.RegisterRegistrationServer(s, r)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return s
}

// handler records calls; it accepts version 1.x only.
type handler struct {
	mu    sync.Mutex
	calls []string
}

func (h *handler) ValidatePlugin(name, _ string, versions []string) error {
	if !slices.Contains(versions, "1.0.0") {
		return errors.New("unsupported")
	}
	return nil
}

func (h *handler) RegisterPlugin(_ context.Context, name, endpoint string, _ []string) error {
	h.record("register " + name + " " + endpoint)
	return nil
}

func (h *handler) DeRegisterPlugin(_ context.Context, name, _ string) { h.record("deregister " + name) }

func (h *handler) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name       string
		info       *registerapi.PluginInfo
		registered bool
		calls      []string
	}{
		{"csi plugin", &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: "d", Endpoint: "/e.sock", SupportedVersions: []string{"1.0.0"}},
			true, []string{"register d /e.sock", "deregister d"}},
		{"unsupported version", &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: "d", Endpoint: "/e.sock", SupportedVersions: []string{"0.3.0"}},
			false, nil},
		{"unknown type", &registerapi.PluginInfo{Type: "Other", Name: "d"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "d-reg.sock")
			r := &registrar{info: tt.info}
			srv := serve(t, sock, r)
			h := &handler{}
			w := &Watcher{Dir: dir, Handlers: map[string]Handler{registerapi.CSIPlugin: h}}
			ctx := context.Background()
			w.Sync(ctx)
			w.Wait()
			w.Sync(ctx) // a second poll asks nobody again
			w.Wait()
			st := r.statuses()
			if len(st) != 1 || st[0].GetPluginRegistered() != tt.registered {
				t.Fatalf("statuses = %v, want one with registered=%v", st, tt.registered)
			}
			if !tt.registered && st[0].GetError() == "" {
				t.Error("a rejected plugin is told no reason")
			}
			if got := len(w.Registered()); got != map[bool]int{true: 1}[tt.registered] {
				t.Errorf("Registered() has %d sockets", got)
			}
			srv.Stop()
			_ = os.Remove(sock)
			w.Sync(ctx)
			w.Wait()
			if !slices.Equal(h.calls, tt.calls) {
				t.Errorf("calls = %q, want %q", h.calls, tt.calls)
			}
			if len(w.Registered()) != 0 {
				t.Error("a removed socket is still registered")
			}
		})
	}
}

// A plugin that does not answer holds up neither the poll nor the other
// plugins' registration.
func TestHungPlugin(t *testing.T) {
	dir := t.TempDir()
	hung := serve(t, filepath.Join(dir, "hung-reg.sock"), &registrar{hang: true})
	good := &registrar{info: &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: "d", Endpoint: "/e.sock", SupportedVersions: []string{"1.0.0"}}}
	serve(t, filepath.Join(dir, "d-reg.sock"), good)
	h := &handler{}
	w := &Watcher{Dir: dir, Handlers: map[string]Handler{registerapi.CSIPlugin: h}}
	ctx := context.Background()
	defer w.Wait()
	defer hung.Stop() // ends the hung handshake
	start := time.Now()
	w.Sync(ctx)
	w.Sync(ctx) // a handshake under way is not started twice
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Sync waited %v for a hung plugin", took)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(w.Registered()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the good plugin was not registered while another hangs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.Registered(); !slices.Equal(got, []string{filepath.Join(dir, "d-reg.sock")}) {
		t.Errorf("Registered() = %q", got)
	}
}

// flaky fails RegisterPlugin until told otherwise, as an unreachable
// apiserver would.
type flaky struct {
	handler
	fail bool
}

func (f *flaky) RegisterPlugin(ctx context.Context, name, endpoint string, v []string) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("apiserver unreachable")
	}
	return f.handler.RegisterPlugin(ctx, name, endpoint, v)
}

// A RegisterPlugin error is not final: the socket is asked again once
// its back-off has passed, and not before.
func TestRegisterRetriedWithBackoff(t *testing.T) {
	dir := t.TempDir()
	r := &registrar{info: &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: "d", Endpoint: "/e.sock", SupportedVersions: []string{"1.0.0"}}}
	serve(t, filepath.Join(dir, "d-reg.sock"), r)
	h := &flaky{fail: true}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Watcher{Dir: dir, Handlers: map[string]Handler{registerapi.CSIPlugin: h}, now: func() time.Time { return now }}
	ctx := context.Background()
	sync := func() {
		w.Sync(ctx)
		w.Wait()
	}
	sync()
	sync() // within the back-off: not asked again
	if st := r.statuses(); len(st) != 1 || st[0].GetPluginRegistered() {
		t.Fatalf("statuses = %v, want one refusal", st)
	}
	now = now.Add(initialRetryDelay)
	sync() // fails again: the delay doubles
	if n := len(r.statuses()); n != 2 {
		t.Fatalf("%d handshakes after the first delay, want 2", n)
	}
	now = now.Add(initialRetryDelay)
	sync()
	if n := len(r.statuses()); n != 2 {
		t.Fatalf("%d handshakes within the doubled delay, want 2", n)
	}
	h.mu.Lock()
	h.fail = false
	h.mu.Unlock()
	now = now.Add(initialRetryDelay)
	sync()
	st := r.statuses()
	if len(st) != 3 || !st[2].GetPluginRegistered() {
		t.Fatalf("statuses = %v, want the third registered", st)
	}
	if len(w.Registered()) != 1 {
		t.Errorf("Registered() = %q", w.Registered())
	}
}
