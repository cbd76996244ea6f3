package framework

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/pkg/mountinfo"
)

// Close removes every pod through CRI (so that CNI releases their
// addresses), stops containerd and then removes whatever is left of this
// instance: shims, runc containers, mounts, the bridge, CNI result files,
// the cgroup parent and the directory. It reports what it could not
// remove. Later calls return the first one's error; the test's cleanup
// calls it if the test did not.
func (c *Containerd) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Containerd) close() error {
	var errs, raced []error
	if c.conn != nil {
		if !c.running() {
			if err := c.start(); err != nil {
				errs = append(errs, fmt.Errorf("restart containerd to remove its pods: %w", err))
			}
		}
		if c.running() {
			var err error
			raced, err = c.removePods()
			errs = append(errs, err)
		}
		c.Stop()
		_ = c.conn.Close()
	}
	sandboxes := c.sandboxIDs()
	errs = append(errs,
		c.killShims(),
		c.deleteRuncContainers(),
		unmountUnder(c.dir),
		c.deleteBridge(),
		c.removeForwarding(),
		c.removeCNIResults(sandboxes),
		c.removeCgroups())
	if len(mountsUnder(c.dir)) == 0 {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	left := c.Leftovers()
	if left != nil {
		// What containerd would not remove is reported with what is left.
		errs = append(errs, raced...)
	} else if len(raced) > 0 {
		c.t.Logf("containerd %s kept pods whose container start raced their stop, removed by force: %v", c.dir, errors.Join(raced...))
	}
	errs = append(errs, left)
	return errors.Join(errs...)
}

// removePods stops and removes every pod sandbox (and so its containers).
// Sandboxes containerd still would not remove after a container start
// that raced their stop are returned apart (raced): containerd 1.6 can
// keep a task it failed to start ("failed to get task pid: context
// canceled") as running for good. close removes those with the shims and
// runc containers, and reports them only if something is left then.
func (c *Containerd) removePods() (raced []error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := c.RuntimeClient()
	pods, err := rc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	var errs []error
	for _, p := range pods.Items {
		switch err := removePod(ctx, rc, p.Id); {
		case err == nil:
		case startRace(err):
			raced = append(raced, err)
		default:
			errs = append(errs, err)
		}
	}
	return raced, errors.Join(errs...)
}

// startRace reports an error of removing a sandbox whose container was
// starting or started after it was stopped.
func startRace(err error) bool {
	return status.Code(err) == codes.FailedPrecondition || strings.Contains(err.Error(), "container is in starting state")
}

// removePod stops and removes one sandbox. A container whose start was
// still in flight when the kubelet stopped can come up after the stop;
// removing then fails on its running task (FailedPrecondition), or while
// it is still starting (containerd says so with code Unknown), and the pod
// is stopped again.
func removePod(ctx context.Context, rc runtimeapi.RuntimeServiceClient, id string) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// A start in flight can take seconds on a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			return fmt.Errorf("stop pod sandbox %s: %w", id, err)
		}
		_, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
		if err == nil || !startRace(err) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("remove pod sandbox %s: %w", id, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove pod sandbox %s: %w", id, err)
		case <-tick.C:
		}
	}
}

// sandboxIDs are the pod sandboxes containerd still has directories for.
func (c *Containerd) sandboxIDs() []string {
	var ids []string
	for _, base := range []string{filepath.Join(c.dir, "root"), c.stateDir()} {
		entries, _ := os.ReadDir(filepath.Join(base, "io.containerd.grpc.v1.cri", "sandboxes"))
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// shim is a containerd-shim process of this instance.
type shim struct {
	pid    int
	id, ns string
}

// shims finds this instance's shims: their command line carries
// `-address <our socket>`.
func (c *Containerd) shims() []shim {
	var found []shim
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") || flagValue(args, "-address") != c.Address() {
			continue
		}
		found = append(found, shim{pid: pid, id: flagValue(args, "-id"), ns: flagValue(args, "-namespace")})
	}
	return found
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// killShims kills the shims containerd left and removes their sockets,
// which containerd keeps in /run/containerd/s whatever its state dir.
func (c *Containerd) killShims() error {
	shims := c.shims()
	for _, s := range shims {
		_ = syscall.Kill(s.pid, syscall.SIGKILL)
	}
	for _, s := range shims {
		if err := poll(5*time.Second, nil, func() error { return exited(s.pid) }); err != nil {
			return fmt.Errorf("kill shim: %w", err)
		}
		sum := sha256.Sum256([]byte(filepath.Join(c.Address(), s.ns, s.id)))
		_ = os.Remove(filepath.Join("/run/containerd/s", hex.EncodeToString(sum[:])))
	}
	return nil
}

// exited reports whether pid has ended (is gone or a zombie).
func exited(pid int) error {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	// The state follows the command name, which is in parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
		return nil
	}
	return fmt.Errorf("process %d is alive", pid)
}

// deleteRuncContainers force-deletes the containers runc still knows,
// which kills their processes and removes their cgroups.
func (c *Containerd) deleteRuncContainers() error {
	var errs []error
	namespaces, _ := os.ReadDir(c.runcRoot())
	for _, ns := range namespaces {
		root := filepath.Join(c.runcRoot(), ns.Name())
		containers, _ := os.ReadDir(root)
		for _, ctr := range containers {
			out, err := exec.Command(runcBin, "--root", root, "delete", "--force", ctr.Name()).CombinedOutput()
			if err != nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %v: %s", ctr.Name(), err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	table, err := mountinfo.Under(dir)
	if err != nil {
		return nil
	}
	var mounts []string
	for _, m := range table {
		mounts = append(mounts, m.Point)
	}
	slices.SortFunc(mounts, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return mounts
}

// unmountUnder lazily unmounts everything mounted below dir.
func unmountUnder(dir string) error {
	for range 5 {
		mounts := mountsUnder(dir)
		if len(mounts) == 0 {
			return nil
		}
		for _, m := range mounts {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if m := mountsUnder(dir); len(m) > 0 {
		return fmt.Errorf("still mounted: %v", m)
	}
	return nil
}

func (c *Containerd) deleteBridge() error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", c.Bridge())); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "link", "del", c.Bridge()).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link del %s: %v: %s", c.Bridge(), err, out)
	}
	return nil
}

// removeCNIResults removes the result cache entries of this network and
// of the loopback network of this instance's sandboxes.
func (c *Containerd) removeCNIResults(sandboxes []string) error {
	files, _ := filepath.Glob(filepath.Join(cniResultsDir, c.Network()+"-*"))
	for _, f := range files {
		// <network>-<sandbox id>-<interface>
		if id, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(f), c.Network()+"-"), "-"); ok {
			sandboxes = append(sandboxes, id)
		}
	}
	for _, id := range sandboxes {
		more, _ := filepath.Glob(filepath.Join(cniResultsDir, "*-"+id+"-*"))
		files = append(files, more...)
	}
	var errs []error
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cgroupDirs are the directories of this instance's cgroup parent in
// every hierarchy (one on cgroup v2; one per controller on v1).
func (c *Containerd) cgroupDirs() []string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(cgroupFS, &st); err != nil {
		return nil
	}
	const cgroup2Magic = 0x63677270
	if st.Type == cgroup2Magic {
		return []string{filepath.Join(cgroupFS, c.CgroupParent())}
	}
	var dirs []string
	entries, _ := os.ReadDir(cgroupFS)
	for _, e := range entries {
		if e.IsDir() { // not the cpu -> cpu,cpuacct style links
			dirs = append(dirs, filepath.Join(cgroupFS, e.Name(), c.CgroupParent()))
		}
	}
	return dirs
}

// removeCgroups kills what still runs under the cgroup parent and removes
// its cgroups, leaves first.
func (c *Containerd) removeCgroups() error {
	var errs []error
	for _, root := range c.cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			if err := removeCgroup(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeCgroup kills the processes in dir, a leaf cgroup, and removes it.
func removeCgroup(dir string) error {
	err := poll(5*time.Second, nil, func() error {
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, p := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// Leftovers reports what of this instance still exists on the machine:
// nil once Close has cleaned up.
func (c *Containerd) Leftovers() error {
	var errs []error
	if c.running() {
		errs = append(errs, errors.New("containerd is running"))
	}
	for _, s := range c.shims() {
		errs = append(errs, fmt.Errorf("shim process %d for %s", s.pid, s.id))
	}
	if m := mountsUnder(c.dir); len(m) > 0 {
		errs = append(errs, fmt.Errorf("mounts %v", m))
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", c.Bridge())); err == nil {
		errs = append(errs, fmt.Errorf("link %s", c.Bridge()))
	}
	if c.hasForwardRule() {
		errs = append(errs, fmt.Errorf("iptables rule %v", c.forwardRule()))
	}
	if files, _ := filepath.Glob(filepath.Join(cniResultsDir, c.Network()+"-*")); len(files) > 0 {
		errs = append(errs, fmt.Errorf("CNI results %v", files))
	}
	for _, d := range c.cgroupDirs() {
		if _, err := os.Stat(d); err == nil {
			errs = append(errs, fmt.Errorf("cgroup %s", d))
		}
	}
	if _, err := os.Stat(c.dir); err == nil {
		errs = append(errs, fmt.Errorf("directory %s", c.dir))
	}
	if len(errs) > 0 {
		return fmt.Errorf("left over: %w", errors.Join(errs...))
	}
	return nil
}
