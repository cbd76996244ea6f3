// Package events records Kubernetes Events about the objects the
// cloud-controller works on, so users see with kubectl describe what
// happened to their Service's load balancer or their Node.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// Component is the events' source.
const Component = "cloud-controller-manager"

// Event types.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// Recorder writes events through the apiserver.
type Recorder struct {
	C        *client.Client
	Instance string
}

// Record writes one event about obj (of kind, "Service" or "Node"); a
// failure to write it is only logged.
func (r *Recorder) Record(ctx context.Context, kind string, obj *metav1.ObjectMeta, typ, reason, message string) {
	ns := obj.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	now := timestamppb.Now()
	ev := &corev1.Event{
		Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", obj.GetName(), time.Now().UnixNano()), Namespace: ns},
		InvolvedObject: &corev1.ObjectReference{Kind: kind, ApiVersion: "v1", Namespace: obj.GetNamespace(), Name: obj.GetName(),
			Uid: obj.GetUid(), ResourceVersion: obj.GetResourceVersion()},
		Reason: reason, Message: message, Type: typ, Count: 1,
		Source:         &corev1.EventSource{Component: Component},
		FirstTimestamp: now, LastTimestamp: now,
		ReportingComponent: Component, ReportingInstance: r.Instance,
	}
	if _, err := r.C.CoreV1().Events(ns).Create(ctx, ev, client.WriteOptions{}); err != nil && ctx.Err() == nil {
		slog.DebugContext(ctx, "event not recorded", "object", strings.Trim(ns+"/"+obj.GetName(), "/"), "reason", reason, "err", err)
	}
}
