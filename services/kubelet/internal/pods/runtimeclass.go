package pods

import (
	"context"

	corev1 "skiff.dev/api/core/v1"
)

// RuntimeHandlers maps a RuntimeClass name to its CRI runtime handler, as
// Kubernetes' kubelet reads RuntimeClasses; an error (the class is gone)
// fails the pod's sandbox.
type RuntimeHandlers func(ctx context.Context, runtimeClass string) (string, error)

// SetRuntimeHandlers gives the manager the RuntimeClass lookup; call it
// before Run. Without one every pod runs with the runtime's default
// handler.
func (m *Manager) SetRuntimeHandlers(h RuntimeHandlers) { m.handlers = h }

// runtimeHandler is the handler of the pod's RuntimeClass, "" (the
// runtime's default) when it names none.
func (m *Manager) runtimeHandler(ctx context.Context, pod *corev1.Pod) (string, error) {
	class := pod.GetSpec().GetRuntimeClassName()
	if class == "" || m.handlers == nil {
		return "", nil
	}
	return m.handlers(ctx, class)
}
