package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/kubelet/internal/cri"
)

// KubeletVersion is what the Node reports as its kubelet version.
const KubeletVersion = "v1.32.0-skiff"

// Pressure thresholds, Kubernetes' default hard eviction thresholds.
const (
	memoryAvailableMin = 100 << 20 // memory.available<100Mi
	diskAvailableMin   = 0.10      // nodefs.available<10%
	pidsAvailableMin   = 0.10
)

// Resources measures the machine: cpu, memory, storage under rootDir and
// pods, as capacity, and capacity minus reserved as allocatable (memory
// also minus the eviction threshold, as Kubernetes does).
func Resources(rootDir string, maxPods int, reserved map[string]string) (capacity, allocatable map[string]string, err error) {
	mem, err := meminfo("MemTotal")
	if err != nil {
		return nil, nil, err
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(rootDir, &fs); err != nil {
		return nil, nil, fmt.Errorf("measure the disk under %s: %w", rootDir, err)
	}
	machine := map[string]*resource.Quantity{
		"cpu":               resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		"memory":            resource.NewQuantity(mem, resource.BinarySI),
		"ephemeral-storage": resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI),
		"pods":              resource.NewQuantity(int64(maxPods), resource.DecimalSI),
	}
	capacity, allocatable = map[string]string{}, map[string]string{}
	for name, q := range machine {
		capacity[name] = q.String()
		a := q.DeepCopy()
		if r, ok := reserved[name]; ok {
			rq, err := resource.ParseQuantity(r)
			if err != nil {
				return nil, nil, fmt.Errorf("--system-reserved %s=%s: %w", name, r, err)
			}
			a.Sub(rq)
		}
		if name == "memory" {
			a.Sub(*resource.NewQuantity(memoryAvailableMin, resource.BinarySI))
		}
		if a.Sign() < 0 {
			a = resource.Quantity{}
		}
		allocatable[name] = a.String()
	}
	return capacity, allocatable, nil
}

// SystemInfo describes the machine for node.status.nodeInfo.
func SystemInfo(ctx context.Context, rt cri.Runtime) *corev1.NodeSystemInfo {
	info := &corev1.NodeSystemInfo{KubeletVersion: KubeletVersion, KubeProxyVersion: KubeletVersion,
		OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH, OsImage: "Linux"}
	info.MachineId = readTrim("/etc/machine-id")
	info.SystemUuid = info.MachineId
	info.BootId = readTrim("/proc/sys/kernel/random/boot_id")
	info.KernelVersion = readTrim("/proc/sys/kernel/osrelease")
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				info.OsImage = strings.Trim(v, `"`)
			}
		}
	}
	if v, err := rt.Version(ctx, &runtimeapi.VersionRequest{}); err == nil {
		info.ContainerRuntimeVersion = v.GetRuntimeName() + "://" + v.GetRuntimeVersion()
	}
	return info
}

func readTrim(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(string(data))
}

// meminfo reads one /proc/meminfo field in bytes.
func meminfo(field string) (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		return kb * 1024, err
	}
	return 0, fmt.Errorf("/proc/meminfo has no %s", field)
}

// RuntimeProbe checks the node through its container runtime and /proc.
type RuntimeProbe struct {
	RT      cri.Runtime
	RootDir string
}

var _ Probe = (*RuntimeProbe)(nil)

// RuntimeReady asks the runtime for its status.
func (p *RuntimeProbe) RuntimeReady(ctx context.Context) error {
	resp, err := p.RT.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return err
	}
	for _, c := range resp.GetStatus().GetConditions() {
		if !c.GetStatus() && (c.GetType() == runtimeapi.RuntimeReady || c.GetType() == runtimeapi.NetworkReady) {
			return fmt.Errorf("%s: %s", c.GetType(), c.GetMessage())
		}
	}
	return nil
}

// Pressure compares memory, disk and pids against the thresholds.
func (p *RuntimeProbe) Pressure() Pressure {
	var out Pressure
	if avail, err := meminfo("MemAvailable"); err == nil {
		out.Memory = avail < memoryAvailableMin
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(p.RootDir, &fs); err == nil && fs.Blocks > 0 {
		out.Disk = float64(fs.Bavail)/float64(fs.Blocks) < diskAvailableMin
	}
	if max, err := strconv.Atoi(readTrim("/proc/sys/kernel/pid_max")); err == nil && max > 0 {
		entries, _ := os.ReadDir("/proc")
		n := 0
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				n++
			}
		}
		out.PID = float64(max-n)/float64(max) < pidsAvailableMin
	}
	return out
}

// Images lists the runtime's images, largest first as Kubernetes reports
// them (at most 50).
func (p *RuntimeProbe) Images(ctx context.Context) ([]*corev1.ContainerImage, error) {
	resp, err := p.RT.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, err
	}
	var out []*corev1.ContainerImage
	for _, img := range resp.GetImages() {
		names := append(append([]string{}, img.GetRepoDigests()...), img.GetRepoTags()...)
		if len(names) == 0 {
			continue
		}
		out = append(out, &corev1.ContainerImage{Names: names, SizeBytes: int64(img.GetSize())})
	}
	slices.SortFunc(out, func(a, b *corev1.ContainerImage) int { return int(b.GetSizeBytes() - a.GetSizeBytes()) })
	if len(out) > 50 {
		out = out[:50]
	}
	return out, nil
}
