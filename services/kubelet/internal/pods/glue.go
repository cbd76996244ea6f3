package pods

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/telemetry"
)

// setUpVolumes prepares the pod's volumes on the first sync and refreshes
// them (ConfigMap and Secret contents) once per resync period, and at once
// when the pod's labels or annotations change (the downward API's files).
func (m *Manager) setUpVolumes(ctx context.Context, pod *corev1.Pod, st *syncState) error {
	uid, meta := pod.GetMetadata().GetUid(), metadataOf(pod)
	m.mu.Lock()
	last, done := m.volumesAt[uid]
	m.mu.Unlock()
	if done && time.Since(last.at) < m.cfg.ResyncPeriod && last.meta == meta {
		return nil
	}
	ip := ""
	if s := st.ps.readySandbox(); s != nil {
		ip, _ = m.sandboxIP(ctx, s.GetId())
	}
	if err := m.volumes.SetUp(ctx, pod, ip); err != nil {
		st.volumeErr = err
		m.mountFailed(pod, err)
		slog.InfoContext(ctx, "set up volumes", "pod", podKey(pod), "err", err)
		return err
	}
	m.mu.Lock()
	m.volumesAt[uid] = volumesSetUp{at: time.Now(), meta: meta}
	m.mu.Unlock()
	return nil
}

// volumesSetUp is when a pod's volumes were last set up, and from what
// labels and annotations.
type volumesSetUp struct {
	at   time.Time
	meta string
}

// metadataOf is the pod's labels and annotations as the downward API
// shows them, in a form that changes when they do — save the trace
// annotation, which the apiserver renews on every write.
func metadataOf(pod *corev1.Pod) string {
	var b strings.Builder
	for _, m := range []map[string]string{pod.GetMetadata().GetLabels(), pod.GetMetadata().GetAnnotations()} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k != telemetry.TraceAnnotation {
				fmt.Fprintf(&b, "%q=%q,", k, m[k])
			}
		}
		b.WriteString(";")
	}
	return b.String()
}

// removeVolumes takes down the pod's volumes once its containers stopped.
func (m *Manager) removeVolumes(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	delete(m.volumesAt, uid)
	m.mu.Unlock()
	if err := m.volumes.TearDown(ctx, uid); err != nil {
		m.podEvent(pod, events.Warning, "FailedUnmount", "%v", err)
		return err
	}
	return nil
}

func (m *Manager) volumePath(pod *corev1.Pod, name string) (path string, readOnly, ok bool) {
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
	image, name := spec.GetImage(), spec.GetName()
	policy := spec.GetImagePullPolicy()
	if policy != "Always" {
		st, err := m.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}})
		if err != nil {
			return "", &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: err.Error()}, retryAfter * 5
		}
		if st.GetImage() != nil {
			m.containerEvent(pod, name, events.Normal, "Pulled", "Container image %q already present on machine", image)
			return st.GetImage().GetId(), nil, 0
		}
		if policy == "Never" {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
			m.containerEvent(pod, name, events.Warning, "ErrImageNeverPull", "%s", msg)
			return "", &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: msg}, retryAfter * 10
		}
	}
	key := "pull/" + pod.GetMetadata().GetUid() + "/" + name
	if wait := m.backoff.waitSinceLast(key, time.Now()); wait > 0 {
		msg := fmt.Sprintf("Back-off pulling image %q", image)
		m.containerEvent(pod, name, events.Normal, "BackOff", "%s", msg)
		return "", &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: msg}, wait
	}
	m.containerEvent(pod, name, events.Normal, "Pulling", "Pulling image %q", image)
	began := time.Now()
	resp, err := m.rt.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}})
	if err != nil {
		m.backoff.next(key, time.Now())
		msg := fmt.Sprintf("Failed to pull image %q: %v", image, err)
		m.containerEvent(pod, name, events.Warning, "Failed", "%s", msg)
		return "", &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: msg}, m.backoff.waitSinceLast(key, time.Now())
	}
	m.backoff.forget(key)
	m.pulled(ctx, pod, name, image, time.Since(began))
	return resp.GetImageRef(), nil, 0
}

// pulled records the Pulled event of an image just pulled, with its size
// as the runtime reports it.
func (m *Manager) pulled(ctx context.Context, pod *corev1.Pod, container, image string, took time.Duration) {
	var size uint64
	if st, err := m.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err == nil {
		size = st.GetImage().GetSize()
	}
	took = took.Round(time.Millisecond)
	m.containerEvent(pod, container, events.Normal, "Pulled",
		"Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", image, took, took, size)
}
