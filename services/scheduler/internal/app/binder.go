package app

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
)

// eventSource names the scheduler in events, as Kubernetes does.
const eventSource = "default-scheduler"

// binder writes bindings and conditions through pkg/client, and records
// events; a repeated FailedScheduling is counted up by the recorder.
type binder struct {
	c       *client.Client
	events  *events.Recorder
	timeout time.Duration
}

func newBinder(c *client.Client, rec *events.Recorder, timeout time.Duration) *binder {
	return &binder{c: c, events: rec, timeout: timeout}
}

// Bind binds the pod and records a Scheduled event.
func (b *binder) Bind(ctx context.Context, pod *corev1.Pod, node string) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	m := pod.GetMetadata()
	if err := b.c.CoreV1().Pods(m.GetNamespace()).Bind(ctx, m.GetName(), node, client.WriteOptions{}); err != nil {
		return fmt.Errorf("bind pod %s/%s to %s: %w", m.GetNamespace(), m.GetName(), node, err)
	}
	b.events.Eventf(pod, events.Normal, "Scheduled", "Successfully assigned %s/%s to %s", m.GetNamespace(), m.GetName(), node)
	return nil
}

// Unschedulable sets PodScheduled=False and records FailedScheduling.
func (b *binder) Unschedulable(ctx context.Context, pod *corev1.Pod, message string) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	pods := b.c.CoreV1().Pods(pod.GetMetadata().GetNamespace())
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var cur *corev1.Pod
		if cur, err = pods.Get(ctx, pod.GetMetadata().GetName()); err != nil {
			break
		}
		if cur.GetSpec().GetNodeName() != "" {
			return nil // bound meanwhile
		}
		if !setCondition(cur, &corev1.PodCondition{Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: message}) {
			break
		}
		if _, err = pods.UpdateStatus(ctx, cur, client.WriteOptions{}); !client.IsConflict(err) {
			break
		}
	}
	b.events.Eventf(pod, events.Warning, "FailedScheduling", "%s", message)
	if err != nil {
		return fmt.Errorf("set PodScheduled on %s/%s: %w", pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), err)
	}
	return nil
}

// setCondition sets c on the pod; it reports whether anything changed.
func setCondition(pod *corev1.Pod, c *corev1.PodCondition) bool {
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	now := timestamppb.Now()
	for i, old := range pod.Status.Conditions {
		if old.GetType() != c.GetType() {
			continue
		}
		if old.GetStatus() == c.GetStatus() && old.GetReason() == c.GetReason() && old.GetMessage() == c.GetMessage() {
			return false
		}
		c.LastTransitionTime = old.GetLastTransitionTime()
		if old.GetStatus() != c.GetStatus() {
			c.LastTransitionTime = now
		}
		c.LastProbeTime = nil
		pod.Status.Conditions[i] = c
		return true
	}
	c.LastTransitionTime = now
	pod.Status.Conditions = append(pod.Status.Conditions, c)
	return true
}
