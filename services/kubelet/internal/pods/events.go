package pods

import (
	"errors"
	"fmt"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/services/kubelet/internal/volumes"
)

// SetRecorder gives the manager the recorder of the events it tells of
// its pods and containers (Kubernetes' kubelet reasons and messages); call
// it before Run. Without one, no events are recorded.
func (m *Manager) SetRecorder(r *events.Recorder) { m.events = r }

// podEvent records an event about the pod.
func (m *Manager) podEvent(pod *corev1.Pod, typ, reason, format string, args ...any) {
	m.events.Eventf(pod, typ, reason, format, args...)
}

// containerEvent records an event about one container of the pod, referred
// to by its field path as Kubernetes' kubelet does
// (spec.containers{name}, spec.initContainers{name}).
func (m *Manager) containerEvent(pod *corev1.Pod, container, typ, reason, format string, args ...any) {
	if m.events == nil {
		return
	}
	ref := events.Ref(pod)
	ref.FieldPath = fmt.Sprintf("spec.containers{%s}", container)
	for _, c := range pod.GetSpec().GetInitContainers() {
		if c.GetName() == container {
			ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", container)
		}
	}
	if ephemeral(pod, container) != nil {
		ref.FieldPath = fmt.Sprintf("spec.ephemeralContainers{%s}", container)
	}
	m.events.RefEventf(ref, typ, reason, format, args...)
}

// mountFailed records a FailedMount event for each volume err names.
func (m *Manager) mountFailed(pod *corev1.Pod, err error) {
	var failed []*volumes.Error
	collect := func(e error) {
		var ve *volumes.Error
		if errors.As(e, &ve) {
			failed = append(failed, ve)
		}
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			collect(e)
		}
	} else {
		collect(err)
	}
	if len(failed) == 0 {
		m.podEvent(pod, events.Warning, "FailedMount", "Unable to set up the pod's volumes: %v", err)
	}
	for _, ve := range failed {
		m.podEvent(pod, events.Warning, "FailedMount", "MountVolume.SetUp failed for volume %q : %v", ve.Volume, ve.Err)
	}
}

// podDescription names a pod in messages as Kubernetes' kubelet does:
// name_namespace(uid).
func podDescription(pod *corev1.Pod) string {
	m := pod.GetMetadata()
	return fmt.Sprintf("%s_%s(%s)", m.GetName(), m.GetNamespace(), m.GetUid())
}

// probeName is a probe kind as event messages spell it ("Liveness").
func probeName(kind string) string {
	if kind == "" {
		return kind
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// probeFailed records an Unhealthy event for a failed probe run.
func (m *Manager) probeFailed(pod *corev1.Pod, container, kind string, err error) {
	m.containerEvent(pod, container, events.Warning, "Unhealthy", "%s probe failed: %v", probeName(kind), err)
}

// failureEvent tells why the kubelet ends a pod for good, as Kubernetes'
// does: a passed deadline is Normal, a rejection a Warning.
func (m *Manager) failureEvent(pod *corev1.Pod, f *failure) {
	typ := events.Warning
	if f.reason == reasonDeadlineExceeded {
		typ = events.Normal
	}
	m.podEvent(pod, typ, f.reason, "%s", f.message)
}
