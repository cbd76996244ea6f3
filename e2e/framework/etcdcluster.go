package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	etcdOnce sync.Once
	etcdDir  string
	etcdErr  error
)

// EtcdBinary builds the etcd server from its Go module (the program of
// the stack's etcd image, images/etcd) once per test binary.
func EtcdBinary(t testing.TB) string {
	t.Helper()
	etcdOnce.Do(func() {
		if etcdDir, etcdErr = os.MkdirTemp("", "skiff-e2e-etcd-"); etcdErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(etcdDir, "etcd"), "skiff.dev/images/etcd")
		cmd.Dir = moduleDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			etcdErr = fmt.Errorf("go build etcd: %v\n%s", err, out)
		}
	})
	if etcdErr != nil {
		t.Fatalf("build etcd: %v", etcdErr)
	}
	return filepath.Join(etcdDir, "etcd")
}

// EtcdCluster is a cluster of etcd processes on loopback ports, one data
// directory each, stopped when the test ends.
type EtcdCluster struct {
	t       testing.TB
	Members []*EtcdMember
}

// EtcdMember is one etcd process of a cluster.
type EtcdMember struct {
	t         testing.TB
	Name      string
	ClientURL string
	args      []string
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
	logs      *SyncBuffer
}

// StartEtcdCluster starts n members and waits until the cluster has a
// leader.
func StartEtcdCluster(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	bin := EtcdBinary(t)
	c := &EtcdCluster{t: t}
	peers := make([]string, n)
	initial := make([]string, n)
	for i := range n {
		peers[i] = "http://127.0.0.1:" + strconv.Itoa(FreePort(t))
		initial[i] = fmt.Sprintf("m%d=%s", i, peers[i])
	}
	for i := range n {
		client := "http://127.0.0.1:" + strconv.Itoa(FreePort(t))
		m := &EtcdMember{t: t, Name: fmt.Sprintf("m%d", i), ClientURL: client, args: []string{
			"--name", fmt.Sprintf("m%d", i), "--data-dir", t.TempDir(),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "skiff-e2e", "--log-level", "warn",
		}}
		c.Members = append(c.Members, m)
		t.Cleanup(m.Kill)
		m.start(bin)
	}
	for _, m := range c.Members {
		m.WaitHealthy()
	}
	return c
}

// Endpoints are the members' client URLs, for --etcd-servers.
func (c *EtcdCluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.ClientURL
	}
	return out
}

// Leader is the member that leads, as the running members report it.
func (c *EtcdCluster) Leader() (*EtcdMember, error) {
	for _, m := range c.Members {
		st, err := m.status()
		if err != nil {
			continue
		}
		if st.Leader != "" && st.Leader == st.Header.MemberID {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no running member leads")
}

// memberStatus is the part of etcd's maintenance status the tests read,
// through etcd's JSON gateway (64-bit IDs are strings there).
type memberStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader string `json:"leader"`
}

func (m *EtcdMember) status() (memberStatus, error) {
	var st memberStatus
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.ClientURL+"/v3/maintenance/status", bytes.NewBufferString("{}"))
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status of %s: %s", m.Name, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (m *EtcdMember) start(bin string) {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = &SyncBuffer{}
	m.cmd = exec.Command(bin, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start etcd %s: %v", m.Name, err)
	}
	m.done = make(chan struct{})
	cmd, done := m.cmd, m.done
	go func() { _ = cmd.Wait(); close(done) }()
}

// WaitHealthy waits until the member answers /health with a leader.
func (m *EtcdMember) WaitHealthy() {
	m.t.Helper()
	Eventually(m.t, 60*time.Second, "etcd "+m.Name+" healthy", func() error {
		resp, err := http.Get(m.ClientURL + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var h struct {
			Health string `json:"health"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			return err
		}
		if h.Health != "true" {
			return fmt.Errorf("health %q", h.Health)
		}
		return nil
	})
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (m *EtcdMember) Kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
	if m.t.Failed() {
		m.t.Logf("etcd %s logs:\n%s", m.Name, m.logs.String())
	}
}

// Restart starts a killed member again on its data directory and waits
// until it is healthy.
func (m *EtcdMember) Restart() {
	m.t.Helper()
	m.start(EtcdBinary(m.t))
	m.WaitHealthy()
}
