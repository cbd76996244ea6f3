package disruption

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// staleDisruption tells whether a pod that is not being deleted and has
// not finished carries a True DisruptionTarget condition (one the kubelet
// did not set), and how long until that condition is stale.
func (dc *Controller) staleDisruption(pod *corev1.Pod) (bool, time.Duration) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		return false, 0
	}
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false, 0
	}
	c := podCondition(pod, "DisruptionTarget")
	if c == nil || c.GetStatus() != "True" || c.GetReason() == "TerminationByKubelet" {
		return false, 0
	}
	return true, max(StalePodDisruptionTimeout-dc.now().Sub(c.GetLastTransitionTime().AsTime()), 0)
}

func podCondition(pod *corev1.Pod, t string) *corev1.PodCondition {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// stalePods are the pods to look at when a run starts.
func (dc *Controller) stalePods() []string {
	var out []string
	for _, pod := range dc.pods.Store().List() {
		if stale, _ := dc.staleDisruption(pod); stale {
			out = append(out, informer.KeyOf(pod))
		}
	}
	return out
}

// resetStale sets a stale DisruptionTarget condition back to False: the
// eviction it announced did not happen.
func (dc *Controller) resetStale(ctx context.Context, key string) (time.Duration, error) {
	pod, ok := dc.pods.Store().Get(key)
	if !ok {
		return 0, nil
	}
	stale, after := dc.staleDisruption(pod)
	if !stale || after > 0 {
		return after, nil
	}
	next := proto.Clone(pod).(*corev1.Pod)
	c := podCondition(next, "DisruptionTarget")
	c.Status, c.Reason, c.Message = "False", "", ""
	c.LastTransitionTime = timestamppb.New(dc.now().Truncate(time.Second))
	if _, err := dc.c.CoreV1().Pods(next.GetMetadata().GetNamespace()).UpdateStatus(ctx, next, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("reset the DisruptionTarget condition of pod %s: %w", key, err)
	}
	return 0, nil
}
