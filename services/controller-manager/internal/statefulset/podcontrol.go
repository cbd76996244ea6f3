package statefulset

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
)

// The writes of pods, each recorded as an event on the set with
// Kubernetes' reasons and messages ("create Pod web-0 in StatefulSet web
// successful").

func (sc *Controller) podEvent(set *appsv1.StatefulSet, verb, reason string, pod *corev1.Pod, err error) {
	if err == nil {
		sc.Events.Eventf(set, events.Normal, "Successful"+reason, "%s Pod %s in StatefulSet %s successful", verb, pod.GetMetadata().GetName(), set.GetMetadata().GetName())
		return
	}
	sc.Events.Eventf(set, events.Warning, "Failed"+reason, "%s Pod %s in StatefulSet %s failed error: %v", verb, pod.GetMetadata().GetName(), set.GetMetadata().GetName(), err)
}

// createPod makes the pod's claims, then the pod, then gives the claims
// the owners the retention policy wants. A pod that exists already is
// one the cache has not shown yet: look again soon.
func (sc *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	if err := sc.createClaims(ctx, set, pod); err != nil {
		sc.podEvent(set, "create", "Create", pod, err)
		return err
	}
	created, err := sc.c.CoreV1().Pods(set.GetMetadata().GetNamespace()).Create(ctx, pod, client.WriteOptions{})
	if client.IsAlreadyExists(err) {
		return controller.ErrRetry
	}
	if err != nil {
		if ctx.Err() == nil {
			sc.podEvent(set, "create", "Create", pod, err)
		}
		return fmt.Errorf("create pod %s/%s: %w", set.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), err)
	}
	if err := sc.updateClaimOwners(ctx, set, created); err != nil {
		sc.podEvent(set, "update", "Update", pod, err)
		return err
	}
	sc.podEvent(set, "create", "Create", pod, nil)
	return nil
}

// deletePod deletes a pod; one already gone is no error.
func (sc *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	_, err := sc.c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(), nil)
	if client.IsNotFound(err) {
		return nil
	}
	if err == nil || ctx.Err() == nil {
		sc.podEvent(set, "delete", "Delete", pod, err)
	}
	if err != nil {
		return fmt.Errorf("delete pod %s: %w", informer.KeyOf(pod), err)
	}
	return nil
}

// updatePod restores a pod's identity labels and claim volumes and its
// claims' owners.
func (sc *Controller) updatePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	pod = proto.Clone(pod).(*corev1.Pod)
	changed := false
	if !identityMatches(set, pod) {
		updateIdentity(set, pod)
		changed = true
	}
	if !storageMatches(set, pod) {
		updateStorage(set, pod)
		changed = true
		if err := sc.createClaims(ctx, set, pod); err != nil {
			sc.podEvent(set, "update", "Update", pod, err)
			return err
		}
	}
	if !sc.claimsMatchPolicy(set, pod) {
		if err := sc.updateClaimOwners(ctx, set, pod); err != nil {
			sc.podEvent(set, "update", "Update", pod, err)
			return err
		}
	}
	if !changed {
		return nil
	}
	_, err := sc.c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Update(ctx, pod, client.WriteOptions{})
	if client.IsNotFound(err) {
		return nil
	}
	sc.podEvent(set, "update", "Update", pod, err)
	if err != nil {
		return fmt.Errorf("update pod %s: %w", informer.KeyOf(pod), err)
	}
	return nil
}
