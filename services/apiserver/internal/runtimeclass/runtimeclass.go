// Package runtimeclass is Kubernetes' RuntimeClass admission of new pods:
// a pod naming a RuntimeClass that does not exist is refused (403
// Forbidden), and one naming a class that exists gets the class's
// overhead as its spec.overhead and the class's scheduling constraints
// merged into its node selector and tolerations. A pod whose own overhead
// or node selector disagrees with its class is refused, as is one that
// sets an overhead its class does not define.
package runtimeclass

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

var pods = apierrors.Resource{Resource: "pods"}

// Admit returns the admission of pod creates, reading RuntimeClasses from
// their backend on every create (Kubernetes reads its informer first and
// the API when the informer lacks the class; a live read is both). Other
// writes pass.
func Admit(runtimeClasses registry.Backend) func(ctx context.Context, w *registry.Write) error {
	return func(ctx context.Context, w *registry.Write) error {
		pod, ok := w.Object.(*corev1.Pod)
		if !ok || w.Operation != registry.OpCreate || w.Subresource != "" {
			return nil
		}
		name := w.Name
		rc, err := lookup(ctx, runtimeClasses, pod, name)
		if err != nil {
			return err
		}
		if err := setOverhead(pod, rc, name); err != nil {
			return err
		}
		if err := setScheduling(pod, rc, name); err != nil {
			return err
		}
		return validateOverhead(pod, rc, name)
	}
}

// lookup returns the pod's RuntimeClass, nil when it names none.
func lookup(ctx context.Context, runtimeClasses registry.Backend, pod *corev1.Pod, name string) (*nodev1.RuntimeClass, error) {
	class := pod.GetSpec().GetRuntimeClassName()
	if class == "" {
		return nil, nil // validation refuses a name that is set but empty
	}
	obj, err := runtimeClasses.Get(ctx, "", class, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewForbidden(pods, name, fmt.Sprintf("pod rejected: RuntimeClass %q not found", class))
	}
	if err != nil {
		return nil, fmt.Errorf("get RuntimeClass %s: %w", class, err)
	}
	return obj.(*nodev1.RuntimeClass), nil
}

func setOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass, name string) error {
	if rc.GetOverhead() == nil {
		return nil
	}
	fixed := rc.GetOverhead().GetPodFixed()
	if len(pod.GetSpec().GetOverhead()) > 0 && !sameQuantities(fixed, pod.GetSpec().GetOverhead()) {
		return apierrors.NewForbidden(pods, name, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
	}
	pod.Spec.Overhead = nil
	for k, q := range fixed {
		if pod.Spec.Overhead == nil {
			pod.Spec.Overhead = map[string]*metav1.Quantity{}
		}
		pod.Spec.Overhead[k] = proto.Clone(q).(*metav1.Quantity)
	}
	return nil
}

// setScheduling adds the class's node selector to the pod's (a key both
// set to different values is a conflict) and its tolerations to the
// pod's, leaving out any that another already covers.
func setScheduling(pod *corev1.Pod, rc *nodev1.RuntimeClass, name string) error {
	s := rc.GetScheduling()
	if s == nil {
		return nil
	}
	for _, key := range sortedKeys(s.GetNodeSelector()) {
		want := s.GetNodeSelector()[key]
		if have, ok := pod.GetSpec().GetNodeSelector()[key]; ok && have != want {
			return apierrors.NewForbidden(pods, name, fmt.Sprintf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", key, want, key, have))
		}
		if pod.Spec.NodeSelector == nil {
			pod.Spec.NodeSelector = map[string]string{}
		}
		pod.Spec.NodeSelector[key] = want
	}
	var add []*corev1.Toleration
	for _, t := range s.GetTolerations() {
		add = append(add, proto.Clone(t).(*corev1.Toleration))
	}
	pod.Spec.Tolerations = MergeTolerations(pod.GetSpec().GetTolerations(), add)
	return nil
}

// validateOverhead is the validating half: the pod's overhead is its
// class's, and a pod without a class overhead has none.
func validateOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass, name string) error {
	if rc.GetOverhead() != nil {
		if !sameQuantities(rc.GetOverhead().GetPodFixed(), pod.GetSpec().GetOverhead()) {
			return apierrors.NewForbidden(pods, name, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
		return nil
	}
	if len(pod.GetSpec().GetOverhead()) > 0 {
		return apierrors.NewForbidden(pods, name, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}

// sameQuantities compares resource lists by value ("1000m" is "1"), an
// unset list as an empty one.
func sameQuantities(a, b map[string]*metav1.Quantity) bool {
	if len(a) != len(b) {
		return false
	}
	for k, qa := range a {
		qb, ok := b[k]
		if !ok {
			return false
		}
		va, errA := resource.ParseQuantity(qa.GetString_())
		vb, errB := resource.ParseQuantity(qb.GetString_())
		if errA != nil || errB != nil {
			if qa.GetString_() != qb.GetString_() {
				return false
			}
			continue
		}
		if va.Cmp(vb) != 0 {
			return false
		}
	}
	return true
}
