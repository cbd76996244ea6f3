package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

	// Flags are more apiserver flags, given on every start.
	Flags []string
}

// NoServiceAccounts turns ServiceAccount admission off, for a cluster
// without the controller-manager's serviceaccount controller: that
// controller makes each namespace's "default" account, without which the
// plugin refuses pods. Kubernetes' integration tests do the same.
const NoServiceAccounts = "--disable-admission-plugins=ServiceAccount"

// StartAPIServer runs bin/apiserver on a free port with a fresh data
// directory and extra flags, and waits for its admin kubeconfig. A port
// that another test took between FreePort and the bind is replaced by a
// new one.
func StartAPIServer(t testing.TB, flags ...string) *APIServer {
	t.Helper()
	return StartAPIServerWithFlags(t, flags...)
}

// StartAPIServerWithFlags is StartAPIServer with more flags.
func StartAPIServerWithFlags(t testing.TB, flags ...string) *APIServer {
	t.Helper()
	return startAPIServerIn(t, t.TempDir(), flags)
}

// StartAPIServerPeer starts another apiserver of first's cluster, with
// first's flags (which name an external etcd: --etcd-servers) and a copy
// of its certificates, keys and token file, as the apiservers behind one
// address share them: each one's clients can move to any other.
func StartAPIServerPeer(t testing.TB, first *APIServer) *APIServer {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "pki"), os.DirFS(filepath.Join(first.DataDir, "pki"))); err != nil {
		t.Fatalf("copy the PKI: %v", err)
	}
	tokens, err := os.ReadFile(filepath.Join(first.DataDir, "tokens.csv"))
	if err != nil {
		t.Fatalf("read the token file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	return startAPIServerIn(t, dir, first.Flags)
}

func startAPIServerIn(t testing.TB, dir string, flags []string) *APIServer {
	t.Helper()
	s := &APIServer{t: t, DataDir: dir, Flags: flags}
	t.Cleanup(s.Stop)
	for attempt := 1; ; attempt++ {
		s.Port = FreePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("apiserver: port %d was taken meanwhile; trying another", s.Port)
	}
}

// errPortTaken: the server could not bind its port.
var errPortTaken = errors.New("the port is taken")

// Kubeconfig is the admin kubeconfig the server wrote.
func (s *APIServer) Kubeconfig() string { return filepath.Join(s.DataDir, "admin.kubeconfig") }

// ComponentKubeconfig is the kubeconfig the apiserver issued a component
// (scheduler, controller-manager, cloud-controller, proxy): its own client
// certificate, with only the permissions Kubernetes' bootstrap policy
// grants that component.
func (s *APIServer) ComponentKubeconfig(component string) string {
	return filepath.Join(s.DataDir, "kubeconfigs", component+".kubeconfig")
}

// Pid is the running process's id.
func (s *APIServer) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// URL is the server's HTTPS address.
func (s *APIServer) URL() string { return "https://127.0.0.1:" + strconv.Itoa(s.Port) }

// Start starts the process (again) and waits until it is ready.
func (s *APIServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// start starts the process and waits for its admin kubeconfig; an exit
// before that is an error (errPortTaken when it could not bind).
func (s *APIServer) start() error {
	_ = os.Remove(s.Kubeconfig())
	// Built before taking mu: a failed build ends the test, and its
	// cleanup (Stop) takes mu too.
	bin := Binary(s.t, "apiserver")
	s.mu.Lock()
	s.logs = &SyncBuffer{}
	s.cmd = exec.Command(bin, append([]string{
		"--data-dir", s.DataDir,
		"--secure-port", strconv.Itoa(s.Port),
		"--bind-address", "127.0.0.1",
		"--log-level", "warn"}, s.Flags...)...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start apiserver: %w", err)
	}
	s.done = make(chan struct{})
	cmd, done := s.cmd, s.done
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(s.Kubeconfig()); err == nil {
			return nil
		}
		select {
		case <-done:
			if strings.Contains(s.Logs(), "address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, s.Logs())
			}
			return fmt.Errorf("apiserver exited before writing its admin kubeconfig: %s", s.Logs())
		case <-ctx.Done():
			return fmt.Errorf("apiserver wrote no admin kubeconfig within 60s: %s", s.Logs())
		case <-tick.C:
		}
	}
}

// Kill ends the process at once (SIGKILL), as a crash would; Start
// starts it again.
func (s *APIServer) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
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

// AdminToken is the bearer token of the admin kubeconfig (system:masters).
func (s *APIServer) AdminToken() string {
	s.t.Helper()
	cfg, err := client.FromKubeconfig(s.Kubeconfig())
	if err != nil {
		s.t.Fatalf("load %s: %v", s.Kubeconfig(), err)
	}
	return cfg.Token
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
