package framework

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/pkg/client"
)

// APIServer is a running apiserver process with embedded etcd.
type APIServer struct {
	t       testing.TB
	DataDir string
	Port    int
	mu      sync.Mutex
	cmd     *exec.Cmd
	logs    *SyncBuffer
	done    chan struct{}
}

// StartAPIServer runs bin/apiserver on a free port with a fresh data
// directory and waits for its admin kubeconfig.
func StartAPIServer(t testing.TB) *APIServer {
	t.Helper()
	s := &APIServer{t: t, DataDir: t.TempDir(), Port: FreePort(t)}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Kubeconfig is the admin kubeconfig the server wrote.
func (s *APIServer) Kubeconfig() string { return filepath.Join(s.DataDir, "admin.kubeconfig") }

// URL is the server's HTTPS address.
func (s *APIServer) URL() string { return "https://127.0.0.1:" + strconv.Itoa(s.Port) }

// Start starts the process (again) and waits until it is ready.
func (s *APIServer) Start() {
	s.t.Helper()
	_ = os.Remove(s.Kubeconfig())
	s.mu.Lock()
	s.logs = &SyncBuffer{}
	s.cmd = exec.Command(Binary(s.t, "apiserver"),
		"--data-dir", s.DataDir,
		"--secure-port", strconv.Itoa(s.Port),
		"--bind-address", "127.0.0.1",
		"--log-level", "warn")
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("start apiserver: %v", err)
	}
	s.done = make(chan struct{})
	cmd, done := s.cmd, s.done
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Unlock()
	Eventually(s.t, 60*time.Second, "apiserver writes its admin kubeconfig", func() error {
		select {
		case <-done:
			return fmt.Errorf("apiserver exited: %s", s.Logs())
		default:
		}
		_, err := os.Stat(s.Kubeconfig())
		return err
	})
}

// Stop ends the process gracefully (SIGTERM, then SIGKILL).
func (s *APIServer) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	if s.t.Failed() {
		s.t.Logf("apiserver logs:\n%s", s.Logs())
	}
}

// Logs returns what the process printed.
func (s *APIServer) Logs() string {
	s.mu.Lock()
	logs := s.logs
	s.mu.Unlock()
	if logs == nil {
		return ""
	}
	return logs.String()
}

// SyncBuffer is a buffer a process writes while a test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RESTConfig is a client-go configuration for the server's admin
// kubeconfig.
func (s *APIServer) RESTConfig() *rest.Config {
	s.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig())
	if err != nil {
		s.t.Fatalf("load %s: %v", s.Kubeconfig(), err)
	}
	return cfg
}

// Client is a Skiff gRPC client of the server as admin, closed with the
// test.
func (s *APIServer) Client() *client.Client {
	s.t.Helper()
	cfg, err := client.FromKubeconfig(s.Kubeconfig())
	if err != nil {
		s.t.Fatalf("load %s: %v", s.Kubeconfig(), err)
	}
	c, err := client.New(cfg)
	if err != nil {
		s.t.Fatalf("connect to the apiserver: %v", err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}
