package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

const containerdSocket = "/run/containerd/containerd.sock"

func run(ctx context.Context, o *options) error {
	if err := o.validate(); err != nil {
		return err
	}
	flush, err := o.Setup(ctx, "skiff-node")
	if err != nil {
		return err
	}
	defer flush()
	cgroup, err := prepareNode(o)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	nodeIP, err := startNodeResolver(gctx, g, o)
	if err != nil {
		return err
	}
	start := func(name string, args ...string) {
		cmd, closeOutput := command(gctx, name, args...)
		g.Go(func() error {
			defer closeOutput()
			if err := cmd.Run(); err != nil && gctx.Err() == nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if gctx.Err() == nil {
				return fmt.Errorf("%s exited", name)
			}
			return nil
		})
	}
	start("containerd", "--config", containerdConfigPath)
	if err := waitForSocket(gctx, containerdSocket); err != nil {
		return errors.Join(err, g.Wait())
	}
	slog.Info("containerd is up; starting the kubelet and the proxy", "node", o.NodeName, "cgroup-root", cgroup)
	start("kubelet", append([]string{
		"--kubeconfig", o.Kubeconfig,
		"--hostname-override", o.NodeName,
		"--container-runtime-endpoint", "unix://" + containerdSocket,
		"--root-dir", o.kubeletRoot(),
		"--cgroup-root", filepath.Join(cgroup, "skiff"),
		"--image-preload-dir", o.ImagePreloadDir,
		"--address", "0.0.0.0",
		"--node-ip", nodeIP.String(),
		"--cluster-dns", strings.Join(o.ClusterDNS, ","),
		"--cluster-domain", o.ClusterDomain,
		"--resolv-conf", podResolvConf,
		"--log-level", o.LogLevel,
		"--otlp-endpoint", o.OTLPEndpoint,
	}, o.KubeletArgs...)...)
	start("proxy", append([]string{
		"--kubeconfig", o.proxyKubeconfig(),
		"--hostname-override", o.NodeName,
		"--cluster-cidr", o.ClusterCIDR,
		"--log-level", o.LogLevel,
		"--otlp-endpoint", o.OTLPEndpoint,
	}, o.ProxyArgs...)...)
	if o.CSILocal {
		start("skiff-csi-local", append(o.csiLocalArgs(), o.CSILocalArgs...)...)
	}
	g.Go(func() error { return runNetwork(gctx, o) })
	return g.Wait()
}

// prepareNode checks the node container's cgroup, which it returns, makes
// the container's mounts shared, and makes the directories and the
// containerd configuration the node needs.
func prepareNode(o *options) (string, error) {
	cgroup, err := ownCgroup("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	// Docker gives the container private mounts. Made rshared (as kind's
	// node entrypoint does), a mount a pod makes with Bidirectional
	// propagation (a CSI driver publishing a volume under the kubelet's
	// pods directory) reaches the kubelet and containerd, and runc accepts
	// Bidirectional and HostToContainer mounts at all.
	if err := unix.Mount("", "/", "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return "", fmt.Errorf("making / rshared: %w", err)
	}
	if cgroup == "/" {
		// A private cgroup namespace (Docker's default on cgroup v2): the
		// host tree mounted at /sys/fs/cgroup is not this namespace's, and
		// pods would land at its top, shared with every other node.
		return "", errors.New("the node container sees its cgroup as /: it needs cgroup v1 or the host's cgroup namespace (see docs/compose.md)")
	}
	for _, d := range []string{o.containerdRoot(), o.kubeletRoot(), o.cniDataDir(), cniConfDir, "/run/containerd"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	return cgroup, writeContainerdConfig(o)
}

// startNodeResolver sets up the pods' way to the node's resolvers (see
// nodeResolver) on the node's IP, which it returns, and runs its relay in
// g, so that it stops with the node like the rest.
func startNodeResolver(ctx context.Context, g *errgroup.Group, o *options) (netip.Addr, error) {
	nodeIP, err := o.nodeIP()
	if err != nil {
		return netip.Addr{}, err
	}
	relay, err := nodeResolver(nodeIP, nodeResolvConf, podResolvConf)
	if err != nil {
		return netip.Addr{}, err
	}
	g.Go(func() error { return relay.Run(ctx) })
	return nodeIP, nil
}

// nodeIP is --node-ip, or the address of the default route's interface.
func (o *options) nodeIP() (netip.Addr, error) {
	if o.NodeIP != "" {
		return netip.ParseAddr(o.NodeIP)
	}
	return defaultRouteIP()
}

// proxyKubeconfig is the proxy's kubeconfig.
func (o *options) proxyKubeconfig() string {
	if o.ProxyKubeconfig != "" {
		return o.ProxyKubeconfig
	}
	return o.Kubeconfig
}

// csiLocalArgs are the local CSI driver's flags: its sockets where the
// kubelet looks for them (plugins/<driver>/csi.sock, registered through
// plugins_registry), its volumes in the node's volume. It runs in the
// node's own mount namespace, as the kubelet does, so the bind mounts it
// makes under the kubelet's pods directory are the ones containerd gives
// the pods: no privileged pod, and no Bidirectional mount propagation,
// are needed for it.
func (o *options) csiLocalArgs() []string {
	return []string{
		"--node-id", o.NodeName,
		"--endpoint", filepath.Join(o.kubeletRoot(), "plugins", csiLocalDriver, "csi.sock"),
		"--registration-dir", filepath.Join(o.kubeletRoot(), "plugins_registry"),
		"--data-dir", filepath.Join(o.DataDir, "csi-local"),
		"--log-level", o.LogLevel,
		"--otlp-endpoint", o.OTLPEndpoint,
	}
}

// csiLocalDriver is the local CSI driver's name.
const csiLocalDriver = "local.csi.skiff.dev"

func (o *options) containerdRoot() string { return filepath.Join(o.DataDir, "containerd") }
func (o *options) kubeletRoot() string    { return filepath.Join(o.DataDir, "kubelet") }
func (o *options) cniDataDir() string     { return filepath.Join(o.DataDir, "cni") }

// command runs name with its output, line by line, prefixed with its
// name; the context's end asks it to stop with SIGTERM. closeOutput,
// once the command has ended, ends the goroutines copying its output.
func command(ctx context.Context, name string, args ...string) (cmd *exec.Cmd, closeOutput func()) {
	cmd = exec.CommandContext(ctx, name, args...)
	stdout, stderr := prefixed(name, os.Stdout), prefixed(name, os.Stderr)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	return cmd, func() { stdout.Close(); stderr.Close() }
}

// prefixed is a writer that copies lines to w, each behind "name| ",
// until it is closed.
func prefixed(name string, w io.Writer) io.WriteCloser {
	r, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(w, "%s| %s\n", name, sc.Text())
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return pw
}

func waitForSocket(ctx context.Context, path string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", path); err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// ownCgroup is this process's cgroup (the container's), read from a
// /proc/<pid>/cgroup file: the cpu controller's path on cgroup v1, the
// unified path on v2. Pods go beneath it, so they count against the
// container and go with it.
func ownCgroup(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				return parts[2], nil
			}
		}
	}
	if unified != "" {
		return unified, nil
	}
	return "", fmt.Errorf("%s: no cpu or unified cgroup in %q", file, data)
}
