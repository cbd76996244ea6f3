package pods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/services/kubelet/internal/mountinfo"
)

// start creates and starts a container in the pod's sandbox. It returns
// when to look again if it could not (image pull back-off).
func (m *Manager) start(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *syncState, init bool) time.Duration {
	name := spec.GetName()
	imageRef, waiting, requeue := m.ensureImage(ctx, pod, spec)
	if waiting != nil {
		st.waiting[name] = waiting
		m.containerEvent(pod, name, events.Warning, "Failed", "Error: %s", waiting.Reason)
		return requeue
	}
	attempt := m.nextRestartCount(pod, st.ps, name)
	cfg, err := m.containerConfig(ctx, pod, spec, st, imageRef, attempt, init)
	if err != nil {
		st.waiting[name] = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}
		m.containerEvent(pod, name, events.Warning, "Failed", "Error: %v", err)
		return retryAfter * 5
	}
	created, err := m.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: st.sandbox.id, Config: cfg, SandboxConfig: st.sandbox.config})
	if err != nil {
		st.waiting[name] = &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}
		m.containerEvent(pod, name, events.Warning, "Failed", "Error: %v", err)
		return retryAfter * 5
	}
	m.containerEvent(pod, name, events.Normal, "Created", "Created container: %s", name)
	if _, err := m.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.GetContainerId()}); err != nil {
		st.waiting[name] = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
		m.containerEvent(pod, name, events.Warning, "Failed", "Error: %v", err)
		return retryAfter * 5
	}
	m.containerEvent(pod, name, events.Normal, "Started", "Started container %s", name)
	slog.DebugContext(ctx, "started container", "pod", podKey(pod), "container", name, "attempt", attempt)
	if h := spec.GetLifecycle().GetPostStart(); h != nil {
		if err := m.runHook(ctx, h, spec, created.GetContainerId(), st.sandbox.ip, podGrace(pod)); err != nil {
			// Kubernetes kills a container whose postStart hook fails.
			slog.InfoContext(ctx, "postStart hook failed, killing the container", "pod", podKey(pod), "container", name, "err", err)
			// The hook's output stays out of the event: it may hold secrets.
			m.containerEvent(pod, name, events.Warning, "FailedPostStartHook", "PostStartHook failed")
			m.containerEvent(pod, name, events.Normal, "Killing", "FailedPostStartHook")
			c := &runtimeapi.Container{Id: created.GetContainerId(), Metadata: cfg.GetMetadata()}
			_ = m.killContainer(ctx, pod, c, podGrace(pod))
		}
	}
	return 0
}

// killContainer runs the container's preStop hook and stops it, giving it
// what is left of the grace period to exit after SIGTERM.
func (m *Manager) killContainer(ctx context.Context, pod *corev1.Pod, c *runtimeapi.Container, grace int64) error {
	m.probes.stop(c.GetId())
	deadline := time.Now().Add(time.Duration(grace) * time.Second)
	if pod != nil {
		if spec := findContainer(pod, c.GetMetadata().GetName()); spec != nil && spec.GetLifecycle().GetPreStop() != nil && grace > 0 {
			ip, _ := m.sandboxIP(ctx, c.GetPodSandboxId())
			hctx, cancel := context.WithDeadline(ctx, deadline)
			if err := m.runHook(hctx, spec.GetLifecycle().GetPreStop(), spec, c.GetId(), ip, grace); err != nil {
				slog.InfoContext(ctx, "preStop hook failed", "pod", podKey(pod), "container", spec.GetName(), "err", err)
			}
			cancel()
		}
	}
	// Kubernetes gives a container at least 2s after its preStop hook.
	left := max(int64(time.Until(deadline).Seconds()), min(grace, 2))
	_, err := m.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.GetId(), Timeout: left})
	if err != nil {
		return fmt.Errorf("stop container %s: %w", c.GetMetadata().GetName(), err)
	}
	return nil
}

func (m *Manager) removeContainer(ctx context.Context, id string) error {
	if cs, ok := m.exited.LoadAndDelete(id); ok {
		removeTerminationFile(cs.(*runtimeapi.ContainerStatus))
	}
	_, err := m.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
	return err
}

// teardown stops every running container of the pod at once (each with its
// preStop hook and the grace period) and then removes the sandboxes with
// their network namespaces, IPs and containers.
func (m *Manager) teardown(ctx context.Context, pod *corev1.Pod, ps *podState, grace int64) error {
	if err := m.stopContainers(ctx, pod, ps, grace); err != nil {
		return err
	}
	for _, s := range ps.sandboxes {
		if _, err := m.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.GetId()}); err != nil {
			return fmt.Errorf("stop pod sandbox: %w", err)
		}
		if _, err := m.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.GetId()}); err != nil {
			return fmt.Errorf("remove pod sandbox: %w", err)
		}
		m.sandboxIPs.Delete(s.GetId())
	}
	for _, c := range ps.containers {
		m.exited.Delete(c.GetId())
	}
	return nil
}

// stopContainers stops every running container of the pod at once, each
// with its preStop hook and the grace period.
func (m *Manager) stopContainers(ctx context.Context, pod *corev1.Pod, ps *podState, grace int64) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ps.containers))
	for i, c := range ps.containers {
		if c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if pod != nil {
			name := c.GetMetadata().GetName()
			m.containerEvent(pod, name, events.Normal, "Killing", "Stopping container %s", name)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.killContainer(ctx, pod, c, grace)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// forget removes everything left of a pod whose object is gone: volumes,
// logs, cgroups and the kubelet's memory of it. A volume that cannot be
// torn down (a CSI driver not answering) keeps the pod's directory, and
// the error asks for a retry.
func (m *Manager) forget(ctx context.Context, uid string) error {
	m.probes.forgetPod(uid)
	m.backoff.forgetPod(uid)
	m.status.Forget(uid)
	m.mu.Lock()
	delete(m.started, uid)
	m.mu.Unlock()
	if err := m.volumes.TearDown(ctx, uid); err != nil {
		return fmt.Errorf("tear down the pod's volumes: %w", err)
	}
	m.mu.Lock()
	delete(m.volumesAt, uid)
	m.mu.Unlock()
	if err := removeAll(m.podDir(uid)); err != nil {
		slog.WarnContext(ctx, "remove the pod's directory", "uid", uid, "err", err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(m.cfg.RootDir, "logs", "*_"+uid)); len(dirs) > 0 {
		for _, d := range dirs {
			_ = os.RemoveAll(d)
		}
	}
	m.removeCgroups(ctx, uid)
	return nil
}

// removeAll removes a directory tree after unmounting whatever is mounted
// inside it (memory-backed emptyDirs).
func removeAll(dir string) error {
	mounts, err := mountinfo.Under(dir)
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i].Point, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmount %s: %w", mounts[i].Point, err)
		}
	}
	return os.RemoveAll(dir)
}

func (m *Manager) startedAt(uid string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.started[uid]
}

func (m *Manager) setStarted(uid string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started[uid] = t
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, c := range pod.GetSpec().GetInitContainers() {
		if c.GetName() == name {
			return c
		}
	}
	for _, c := range pod.GetSpec().GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}
