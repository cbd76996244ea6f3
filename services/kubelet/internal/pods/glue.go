package pods

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// setUpVolumes prepares the pod's volumes on the first sync and refreshes
// them (ConfigMap and Secret contents) once per resync period.
func (m *Manager) setUpVolumes(ctx context.Context, pod *corev1.Pod, st *syncState) error {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	last, done := m.volumesAt[uid]
	m.mu.Unlock()
	if done && time.Since(last) < m.cfg.ResyncPeriod {
		return nil
	}
	ip := ""
	if s := st.ps.readySandbox(); s != nil {
		ip, _ = m.sandboxIP(ctx, s.GetId())
	}
	if err := m.volumes.SetUp(ctx, pod, ip); err != nil {
		st.volumeErr = err
		slog.InfoContext(ctx, "set up volumes", "pod", podKey(pod), "err", err)
		return err
	}
	m.mu.Lock()
	m.volumesAt[uid] = time.Now()
	m.mu.Unlock()
	return nil
}

// removeVolumes takes down the pod's volumes once its containers stopped.
func (m *Manager) removeVolumes(ctx context.Context, pod *corev1.Pod) {
	uid := pod.GetMetadata().GetUid()
	if err := m.volumes.TearDown(uid); err != nil {
		slog.WarnContext(ctx, "tear down volumes", "pod", podKey(pod), "err", err)
	}
	m.mu.Lock()
	delete(m.volumesAt, uid)
	m.mu.Unlock()
}

func (m *Manager) volumePath(pod *corev1.Pod, name string) (string, bool) {
	return m.volumes.Path(pod, name)
}

// containerStatus asks the runtime about a container; the answers for
// ended containers never change and are kept.
func (m *Manager) containerStatus(ctx context.Context, id string) *runtimeapi.ContainerStatus {
	if cs, ok := m.exited.Load(id); ok {
		return cs.(*runtimeapi.ContainerStatus)
	}
	resp, err := m.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		slog.DebugContext(ctx, "container status", "id", id, "err", err)
		return &runtimeapi.ContainerStatus{Id: id, State: runtimeapi.ContainerState_CONTAINER_UNKNOWN}
	}
	cs := resp.GetStatus()
	if cs.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
		withTerminationMessage(cs)
		m.exited.Store(id, cs)
	}
	return cs
}

// ensureImage makes sure the container's image is present as its pull
// policy says: Never and IfNotPresent look with ImageStatus first, Always
// pulls. A failed pull is retried with back-off (ErrImagePull, then
// ImagePullBackOff).
func (m *Manager) ensureImage(ctx context.Context, pod *corev1.Pod, spec *corev1.Container) (string, *corev1.ContainerStateWaiting, time.Duration) {
	image := spec.GetImage()
	policy := spec.GetImagePullPolicy()
	if policy != "Always" {
		st, err := m.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}})
		if err != nil {
			return "", &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: err.Error()}, retryAfter * 5
		}
		if st.GetImage() != nil {
			return st.GetImage().GetId(), nil, 0
		}
		if policy == "Never" {
			return "", &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull",
				Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image)}, retryAfter * 10
		}
	}
	key := "pull/" + pod.GetMetadata().GetUid() + "/" + spec.GetName()
	if wait := m.backoff.waitSinceLast(key, time.Now()); wait > 0 {
		return "", &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
			Message: fmt.Sprintf("Back-off pulling image %q", image)}, wait
	}
	resp, err := m.rt.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}})
	if err != nil {
		m.backoff.next(key, time.Now())
		return "", &corev1.ContainerStateWaiting{Reason: "ErrImagePull",
			Message: fmt.Sprintf("Failed to pull image %q: %v", image, err)}, m.backoff.waitSinceLast(key, time.Now())
	}
	m.backoff.forget(key)
	return resp.GetImageRef(), nil, 0
}
