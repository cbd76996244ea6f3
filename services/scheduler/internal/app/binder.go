package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// eventSource names the scheduler in events, as Kubernetes does.
const eventSource = "default-scheduler"

// binder writes bindings, conditions and events through pkg/client.
type binder struct {
	c        *client.Client
	identity string
	timeout  time.Duration

	mu     sync.Mutex
	events map[string]*corev1.Event // last FailedScheduling event per pod uid
}

func newBinder(c *client.Client, identity string, timeout time.Duration) *binder {
	return &binder{c: c, identity: identity, timeout: timeout, events: map[string]*corev1.Event{}}
}

// Bind binds the pod and records a Scheduled event.
func (b *binder) Bind(ctx context.Context, pod *corev1.Pod, node string) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	m := pod.GetMetadata()
	if err := b.c.CoreV1().Pods(m.GetNamespace()).Bind(ctx, m.GetName(), node, client.WriteOptions{}); err != nil {
		return fmt.Errorf("bind pod %s/%s to %s: %w", m.GetNamespace(), m.GetName(), node, err)
	}
	b.mu.Lock()
	delete(b.events, m.GetUid())
	b.mu.Unlock()
	b.event(ctx, pod, "Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s", m.GetNamespace(), m.GetName(), node))
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
	b.event(ctx, pod, "Warning", "FailedScheduling", message)
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

// event records an event about the pod; a FailedScheduling event with the
// same message as the last one is counted instead of repeated.
func (b *binder) event(ctx context.Context, pod *corev1.Pod, typ, reason, message string) {
	m := pod.GetMetadata()
	events := b.c.CoreV1().Events(m.GetNamespace())
	now := timestamppb.Now()
	b.mu.Lock()
	last := b.events[m.GetUid()]
	b.mu.Unlock()
	if last != nil && reason == "FailedScheduling" && last.GetMessage() == message {
		next := proto.Clone(last).(*corev1.Event)
		next.Count++
		next.LastTimestamp = now
		if out, err := events.Update(ctx, next, client.WriteOptions{}); err == nil {
			b.remember(m.GetUid(), out)
			return
		}
	}
	ev := &corev1.Event{
		Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", m.GetName(), time.Now().UnixNano()), Namespace: m.GetNamespace()},
		InvolvedObject: &corev1.ObjectReference{Kind: "Pod", ApiVersion: "v1", Namespace: m.GetNamespace(), Name: m.GetName(),
			Uid: m.GetUid(), ResourceVersion: m.GetResourceVersion()},
		Reason: reason, Message: message, Type: typ, Count: 1,
		Source:         &corev1.EventSource{Component: eventSource},
		FirstTimestamp: now, LastTimestamp: now,
		ReportingComponent: eventSource, ReportingInstance: b.identity,
	}
	out, err := events.Create(ctx, ev, client.WriteOptions{})
	if err == nil && reason == "FailedScheduling" {
		b.remember(m.GetUid(), out)
	}
}

func (b *binder) remember(uid string, ev *corev1.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events[uid] = ev
}

// forget drops what the binder remembers about a deleted pod.
func (b *binder) forget(uid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.events, uid)
}
