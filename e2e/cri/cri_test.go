// Package cri checks the private-containerd harness of the e2e framework
// through raw CRI calls: a pod on the harness's bridge serves HTTP to the
// host and to another pod, survives a containerd restart, and nothing of
// it outlives the harness.
package cri

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

const testserverImage = "registry.skiff.local/testserver:1.0"

func TestPodServesHTTPAndLeavesNothing(t *testing.T) {
	framework.NeedRuntime(t)
	c := framework.StartContainerd(t)
	rc := c.RuntimeClient()
	ctx := t.Context()

	pod := runPod(t, c, "web")
	peer := runPod(t, c, "peer") // not removed by the test: Close must
	ip := podIP(t, c, pod.id)
	if !c.Subnet().Contains(ip) {
		t.Fatalf("pod IP %s, want one in %s", ip, c.Subnet())
	}
	if got := get(t, ip); got != "web\n" {
		t.Fatalf("GET http://%s:8080/ = %q, want %q", ip, got, "web\n")
	}
	if got, err := getFrom(netnsPath(t, c, peer.id), ip); err != nil || got != "web\n" {
		t.Fatalf("GET http://%s:8080/ from another pod = %q, %v; want %q", ip, got, err, "web\n")
	}
	logs, err := os.ReadFile(filepath.Join(pod.logDir, "server.log"))
	if err != nil || !strings.Contains(string(logs), " stdout F serving on :8080") {
		t.Fatalf("container log %q (%v), want a CRI-format \"serving on :8080\" line", logs, err)
	}

	c.Stop()
	c.Start()
	if st := containerState(t, c, pod.container); st != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("after a containerd restart the container is %v, want running", st)
	}
	if got := get(t, ip); got != "web\n" {
		t.Fatalf("after a containerd restart GET = %q, want %q", got, "web\n")
	}

	netns := netnsPath(t, c, pod.id)
	if _, err := os.Stat(netns); err != nil {
		t.Fatalf("network namespace of a running pod: %v", err)
	}
	if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod.id}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod.id}); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	if _, err := os.Stat(netns); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("network namespace %s after RemovePodSandbox: %v, want it gone", netns, err)
	}

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNothingLeft(t, c)
}

// TestCleanupWithoutContainerd checks the cleanup that does not rely on
// CRI: containerd crashed and cannot start again, its pod still runs.
func TestCleanupWithoutContainerd(t *testing.T) {
	framework.NeedRuntime(t)
	c := framework.StartContainerd(t)
	pod := runPod(t, c, "orphan")
	pid := containerPid(t, c, pod.container)
	c.Kill()
	if err := os.WriteFile(filepath.Join(c.Dir(), "containerd.toml"), []byte("version = [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := c.Close()
	if err == nil || !strings.Contains(err.Error(), "restart containerd") {
		t.Errorf("Close: %v, want it to report that containerd did not restart", err)
	}
	if err := c.Leftovers(); err != nil {
		t.Errorf("after Close: %v", err)
	}
	if alive(pid) {
		t.Errorf("container process %d still runs after Close", pid)
	}
	assertNothingLeft(t, c)
}

type pod struct {
	id, container, logDir string
}

// runPod runs a sandbox named name, with testserver in it, under the
// harness's cgroup parent.
func runPod(t *testing.T, c *framework.Containerd, name string) pod {
	t.Helper()
	ctx, rc := t.Context(), c.RuntimeClient()
	p := pod{logDir: t.TempDir()}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: p.logDir,
		Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: c.CgroupParent() + "/pod-" + name},
	}
	run, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v", name, err)
	}
	p.id = run.PodSandboxId
	created, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.id,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "server"},
			Image:    &runtimeapi.ImageSpec{Image: testserverImage},
			LogPath:  "server.log",
			Linux:    &runtimeapi.LinuxContainerConfig{},
		},
		SandboxConfig: cfg,
	})
	if err != nil {
		t.Fatalf("CreateContainer in %s: %v", name, err)
	}
	p.container = created.ContainerId
	if _, err := rc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: p.container}); err != nil {
		t.Fatalf("StartContainer in %s: %v", name, err)
	}
	return p
}

func podIP(t *testing.T, c *framework.Containerd, id string) net.IP {
	t.Helper()
	st, err := c.RuntimeClient().PodSandboxStatus(t.Context(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	ip := net.ParseIP(st.GetStatus().GetNetwork().GetIp())
	if ip == nil {
		t.Fatalf("pod %s has no IP: %v", id, st.GetStatus().GetNetwork())
	}
	return ip
}

// netnsPath is the pod's network namespace file, from the runtime spec
// in the sandbox's verbose status.
func netnsPath(t *testing.T, c *framework.Containerd, id string) string {
	t.Helper()
	st, err := c.RuntimeClient().PodSandboxStatus(t.Context(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	var info struct {
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		}
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		t.Fatalf("sandbox info: %v", err)
	}
	for _, ns := range info.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" {
			if !strings.HasPrefix(ns.Path, c.Dir()+"/") {
				t.Fatalf("network namespace %q, want it under %s", ns.Path, c.Dir())
			}
			return ns.Path
		}
	}
	t.Fatalf("no network namespace in the sandbox's runtime spec: %s", st.Info["info"])
	return ""
}

func containerState(t *testing.T, c *framework.Containerd, id string) runtimeapi.ContainerState {
	t.Helper()
	st, err := c.RuntimeClient().ContainerStatus(t.Context(), &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	return st.GetStatus().GetState()
}

func containerPid(t *testing.T, c *framework.Containerd, id string) int {
	t.Helper()
	st, err := c.RuntimeClient().ContainerStatus(t.Context(), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid == 0 {
		t.Fatalf("no pid in the container's info (%v): %s", err, st.Info["info"])
	}
	return info.Pid
}

// get fetches / from testserver on the pod's IP, from the host.
func get(t *testing.T, ip net.IP) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var body string
	framework.Eventually(t, 30*time.Second, "testserver answers on the pod IP", func() error {
		resp, err := client.Get("http://" + net.JoinHostPort(ip.String(), "8080") + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s: %s", resp.Status, b)
		}
		body = string(b)
		return nil
	})
	return body
}

// getFrom fetches / from testserver at ip from inside the network
// namespace netns, as a pod would.
func getFrom(netns string, ip net.IP) (string, error) {
	addr := net.JoinHostPort(ip.String(), "8080")
	conn, err := dialIn(netns, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return "", err
	}
	if err := req.Write(conn); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// dialIn opens a TCP connection from inside the network namespace netns:
// the socket belongs to the namespace of the thread that creates it.
func dialIn(netns, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer host.Close()
	target, err := os.Open(netns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter %s: %w", netns, err)
	}
	conn, dialErr := net.DialTimeout("tcp", addr, 5*time.Second)
	if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so it ends with this goroutine.
		return nil, errors.Join(dialErr, fmt.Errorf("return to the host network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

// assertNothingLeft looks for traces of the harness with its own eyes,
// rather than through Leftovers.
func assertNothingLeft(t *testing.T, c *framework.Containerd) {
	t.Helper()
	if err := c.Leftovers(); err != nil {
		t.Errorf("Leftovers: %v", err)
	}
	if _, err := net.InterfaceByName(c.Bridge()); err == nil {
		t.Errorf("link %s still exists", c.Bridge())
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory %s: %v, want it gone", c.Dir(), err)
	}
	mountinfo, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer mountinfo.Close()
	for sc := bufio.NewScanner(mountinfo); sc.Scan(); {
		if strings.Contains(sc.Text(), c.Dir()) {
			t.Errorf("still mounted: %s", sc.Text())
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(p)
		if strings.Contains(string(cmdline), c.Dir()) { // containerd's --config, a shim's -address
			t.Errorf("process %s still runs: %q", filepath.Dir(p), cmdline)
		}
	}
	for _, pattern := range []string{
		"/var/lib/cni/results/" + c.Network() + "-*",
		"/sys/fs/cgroup/*" + c.CgroupParent(),
		"/sys/fs/cgroup" + c.CgroupParent(),
	} {
		if left, _ := filepath.Glob(pattern); len(left) > 0 {
			t.Errorf("left over: %v", left)
		}
	}
}
