package framework

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Paths of the machine's container tools.
const (
	containerdBin = "/usr/bin/containerd"
	ctrBin        = "/usr/bin/ctr"
	runcBin       = "/usr/bin/runc"
	cniBinDir     = "/usr/lib/cni"
	cniResultsDir = "/var/lib/cni/results"
	cgroupFS      = "/sys/fs/cgroup"
)

// PauseImage is the sandbox image the harness configures; Images builds
// it.
const PauseImage = "registry.skiff.local/pause:3.10"

// Containerd is a private containerd serving CRI: its root, state, sockets,
// CNI configuration and IP allocations live in one temporary directory,
// its pods on a bridge and /24 of their own. It is cleaned up, with every
// pod, mount, shim, link and cgroup it left, when the test ends.
type Containerd struct {
	t      testing.TB
	dir    string
	id     string // 6 hex digits naming the bridge, network and cgroup parent
	subnet *net.IPNet
	conn   *grpc.ClientConn
	logs   *SyncBuffer
	netns  *Netns // where containerd runs; nil for the host's namespace

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// StartContainerd builds the repository's images, starts a private
// containerd, waits until its CRI runtime and network are ready and
// imports the images into it.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	return startContainerd(t, nil)
}

// StartContainerdIn is StartContainerd with containerd running in ns, so
// its pod bridge and the pods' host-side links live there: ns is the node
// whose packet rules a proxy in ns programs. ns must outlive it (create ns
// first; cleanups run last-first).
func StartContainerdIn(t testing.TB, ns *Netns) *Containerd {
	t.Helper()
	return startContainerd(t, ns)
}

func startContainerd(t testing.TB, ns *Netns) *Containerd {
	t.Helper()
	images := Images(t)
	dir, err := os.MkdirTemp("/tmp", "ctd-") // short: socket paths stay far below 108 bytes
	if err != nil {
		t.Fatalf("containerd directory: %v", err)
	}
	c := &Containerd{t: t, dir: dir, id: fmt.Sprintf("%06x", rand.Uint32()&0xffffff), logs: &SyncBuffer{}, netns: ns}
	t.Cleanup(func() {
		first := false
		c.closeOnce.Do(func() { first, c.closeErr = true, c.close() })
		if first && c.closeErr != nil { // else the test called Close and saw the error
			t.Errorf("clean up containerd %s: %v", dir, c.closeErr)
		}
		if t.Failed() {
			t.Logf("containerd logs:\n%s", c.Logs())
		}
	})
	if c.subnet, err = freeSubnet(); err != nil {
		t.Fatalf("containerd pod subnet: %v", err)
	}
	if err := c.writeConfig(); err != nil {
		t.Fatalf("containerd configuration: %v", err)
	}
	if ns == nil { // a new namespace forwards everything
		if err := c.allowForwarding(); err != nil {
			t.Fatalf("let pods reach each other: %v", err)
		}
	}
	c.conn, err = grpc.NewClient("unix://"+c.Address(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: time.Second,
		}}))
	if err != nil {
		t.Fatalf("CRI client: %v", err)
	}
	c.Start()
	c.ImportImages(t, images)
	return c
}

// Dir is the private directory holding everything of this containerd.
func (c *Containerd) Dir() string { return c.dir }

// Address is the path of containerd's gRPC (and CRI) socket.
func (c *Containerd) Address() string { return filepath.Join(c.dir, "containerd.sock") }

// Endpoint is the CRI endpoint, as a kubelet's --container-runtime-endpoint.
func (c *Containerd) Endpoint() string { return "unix://" + c.Address() }

// Subnet is the /24 pods get their IPs from; its .1 is the bridge's.
func (c *Containerd) Subnet() *net.IPNet { return c.subnet }

// Bridge is the name of the pods' bridge link (created on the first pod).
func (c *Containerd) Bridge() string { return "skf" + c.id }

// Network is the name of the CNI network of the pods.
func (c *Containerd) Network() string { return "skiff-e2e-" + c.id }

// CgroupParent is a cgroup (cgroupfs path) of this harness only: put pods
// under it (a kubelet's cgroup root, a sandbox's cgroup_parent) and the
// harness removes what they leave there.
func (c *Containerd) CgroupParent() string { return "/skiff-e2e-" + c.id }

// Logs returns what containerd printed, over all its runs.
func (c *Containerd) Logs() string { return c.logs.String() }

// RuntimeClient is a CRI runtime client of this containerd; it stays
// usable across Stop and Start.
func (c *Containerd) RuntimeClient() runtimeapi.RuntimeServiceClient {
	return runtimeapi.NewRuntimeServiceClient(c.conn)
}

// ImageClient is a CRI image client of this containerd.
func (c *Containerd) ImageClient() runtimeapi.ImageServiceClient {
	return runtimeapi.NewImageServiceClient(c.conn)
}

func (c *Containerd) stateDir() string { return filepath.Join(c.dir, "state") }
func (c *Containerd) runcRoot() string { return filepath.Join(c.stateDir(), "runc") }
func (c *Containerd) configPath() string {
	return filepath.Join(c.dir, "containerd.toml")
}

// Start starts containerd (again, with the same directories: pods
// survive) and waits until CRI reports its runtime and network ready.
func (c *Containerd) Start() {
	c.t.Helper()
	if err := c.start(); err != nil {
		c.t.Fatalf("start containerd: %v", err)
	}
}

func (c *Containerd) start() error {
	c.mu.Lock()
	if c.cmd != nil {
		select {
		case <-c.done: // it exited by itself: start it again
		default:
			c.mu.Unlock()
			return errors.New("containerd is already running")
		}
	}
	cmd := exec.Command(containerdBin, "--config", c.configPath(), "--log-level", "info")
	if c.netns != nil {
		cmd = c.netns.EnterCommand(containerdBin, "--config", c.configPath(), "--log-level", "info")
	}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()
	return c.waitReady(done)
}

// waitReady polls CRI Status until the runtime and the network are ready.
func (c *Containerd) waitReady(exited <-chan struct{}) error {
	err := poll(30*time.Second, exited, func() error {
		c.conn.ResetConnectBackoff() // it may have backed off while containerd was down
		return c.ready()
	})
	select {
	case <-exited:
		return errors.New("containerd exited; see its logs")
	default:
		return err
	}
}

// poll calls cond every 20ms until it returns nil, stop is closed or
// timeout passes, and returns cond's last error.
func poll(timeout time.Duration, stop <-chan struct{}, cond func() error) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-stop:
			return err
		case <-deadline:
			return fmt.Errorf("not within %v: %w", timeout, err)
		case <-tick.C:
		}
	}
}

func (c *Containerd) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.RuntimeClient().Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return err
	}
	for _, cond := range st.GetStatus().GetConditions() {
		if !cond.Status {
			return fmt.Errorf("%s: %s %s", cond.Type, cond.Reason, cond.Message)
		}
	}
	return nil
}

// Stop ends containerd gracefully (SIGTERM, then SIGKILL); its shims and
// pods keep running.
func (c *Containerd) Stop() { c.stop(syscall.SIGTERM) }

// Kill ends containerd at once, as a crash would.
func (c *Containerd) Kill() { c.stop(syscall.SIGKILL) }

func (c *Containerd) stop(sig syscall.Signal) {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd, c.done = nil, nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (c *Containerd) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// ImportImages imports every *.tar (docker or OCI archive) in dir into
// containerd's k8s.io namespace, where CRI finds them.
func (c *Containerd) ImportImages(t testing.TB, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no image tarballs in %s (%v)", dir, err)
	}
	for _, f := range files {
		out, err := exec.Command(ctrBin, "--address", c.Address(), "-n", "k8s.io",
			"images", "import", "--all-platforms", f).CombinedOutput()
		if err != nil {
			t.Fatalf("ctr images import %s: %v\n%s", f, err, out)
		}
	}
}
