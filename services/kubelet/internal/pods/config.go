package pods

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// containerConfig is the CRI description of one instance of a container:
// its command with $(VAR) references expanded, environment, mounts,
// resource limits and log file.
func (m *Manager) containerConfig(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *syncState, imageRef string, attempt uint32, init bool) (*runtimeapi.ContainerConfig, error) {
	env, err := m.environment(ctx, pod, spec, st.sandbox.ip)
	if err != nil {
		return nil, err
	}
	lookup := map[string]string{}
	for _, kv := range env {
		lookup[kv.GetKey()] = string(kv.GetValue())
	}
	mounts, err := m.mounts(pod, spec, lookup)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{annotationRestartCount: strconv.Itoa(int(attempt))}
	if init {
		annotations[annotationInit] = "true"
	}
	terminationAnnotations(spec, annotations)
	logPath := filepath.Join(spec.GetName(), strconv.Itoa(int(attempt))+".log")
	if err := os.MkdirAll(filepath.Join(st.sandbox.config.GetLogDirectory(), spec.GetName()), 0o755); err != nil {
		return nil, fmt.Errorf("make the container's log directory: %w", err)
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: spec.GetName(), Attempt: attempt},
		Image:       &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: spec.GetImage()},
		Command:     expandAll(spec.GetCommand(), lookup),
		Args:        expandAll(spec.GetArgs(), lookup),
		WorkingDir:  spec.GetWorkingDir(),
		Envs:        env,
		Mounts:      mounts,
		Labels:      m.labels(pod, spec.GetName()),
		Annotations: annotations,
		LogPath:     logPath,
		Stdin:       spec.GetStdin(),
		StdinOnce:   spec.GetStdinOnce(),
		Tty:         spec.GetTty(),
		Linux:       linuxConfig(pod, spec),
	}
	cfg.Linux.SecurityContext.Seccomp = seccompProfile(pod, spec, filepath.Join(m.cfg.RootDir, "seccomp"))
	targetNamespace(cfg, pod, st)
	return cfg, nil
}

// linuxConfig turns requests and limits into cgroup settings as the
// kubelet does (shares from the cpu request, quota from the cpu limit,
// memory limit) and applies the pod's and the container's security
// contexts.
func linuxConfig(pod *corev1.Pod, spec *corev1.Container) *runtimeapi.LinuxContainerConfig {
	res := &runtimeapi.LinuxContainerResources{CpuShares: 2, CpuPeriod: 100000}
	if q, ok := quantity(spec.GetResources().GetRequests()["cpu"]); ok {
		res.CpuShares = max(2, q.MilliValue()*1024/1000)
	}
	if q, ok := quantity(spec.GetResources().GetLimits()["cpu"]); ok {
		res.CpuQuota = max(1000, q.MilliValue()*res.CpuPeriod/1000)
		if _, requested := spec.GetResources().GetRequests()["cpu"]; !requested {
			res.CpuShares = max(2, q.MilliValue()*1024/1000)
		}
	}
	if q, ok := quantity(spec.GetResources().GetLimits()["memory"]); ok {
		res.MemoryLimitInBytes = q.Value()
	}
	return &runtimeapi.LinuxContainerConfig{Resources: res, SecurityContext: containerSecurity(pod, spec)}
}

func quantity(q *metav1.Quantity) (resource.Quantity, bool) {
	if q == nil {
		return resource.Quantity{}, false
	}
	v, err := resource.ParseQuantity(q.GetString_())
	return v, err == nil
}

// mounts are the container's volume mounts on the host paths the pod's
// volumes were set up at (their subPath, or subPathExpr expanded from
// env, inside them), plus the kubelet's /etc/hosts and termination
// message file.
func (m *Manager) mounts(pod *corev1.Pod, spec *corev1.Container, env map[string]string) ([]*runtimeapi.Mount, error) {
	uid := pod.GetMetadata().GetUid()
	var out []*runtimeapi.Mount
	hasHosts := false
	for _, vm := range spec.GetVolumeMounts() {
		host, volumeRO, ok := m.volumePath(pod, vm.GetName())
		if !ok {
			return nil, fmt.Errorf("volume %q of volumeMount %q is not defined in the pod", vm.GetName(), vm.GetMountPath())
		}
		host, err := subPathHost(vm, host, spec.GetName(), env)
		if err != nil {
			return nil, err
		}
		if vm.GetMountPath() == "/etc/hosts" {
			hasHosts = true
		}
		propagation, err := mountPropagation(vm, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, &runtimeapi.Mount{ContainerPath: vm.GetMountPath(), HostPath: host, Readonly: vm.GetReadOnly() || volumeRO, Propagation: propagation})
	}
	if !hasHosts {
		out = append(out, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: m.hostsFile(uid)})
	}
	if path := spec.GetTerminationMessagePath(); path != "" {
		file, err := m.terminationFile(uid, spec.GetName())
		if err != nil {
			return nil, err
		}
		out = append(out, &runtimeapi.Mount{ContainerPath: path, HostPath: file})
	}
	return out, nil
}
