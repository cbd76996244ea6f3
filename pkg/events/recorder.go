package events

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Event types.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// Object is an API object events can be about.
type Object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// Recorder records events from one source: a component (Kubernetes'
// names: "kubelet", "deployment-controller", "default-scheduler") on a
// host (a node name, or the process's identity).
type Recorder struct {
	b      *Broadcaster
	source *corev1.EventSource
}

// Eventf records an event about obj.
func (r *Recorder) Eventf(obj Object, typ, reason, format string, args ...any) {
	r.RefEventf(Ref(obj), typ, reason, format, args...)
}

// RefEventf records an event about what ref names, such as one container
// of a pod (FieldPath "spec.containers{name}").
func (r *Recorder) RefEventf(ref *corev1.ObjectReference, typ, reason, format string, args ...any) {
	if r == nil || ref == nil {
		return
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	now := timestamppb.New(r.b.clock.Now())
	ns := ref.GetNamespace()
	if ns == "" {
		ns = "default" // events about cluster-scoped objects, as Kubernetes files them
	}
	r.b.enqueue(&corev1.Event{
		Metadata:       &metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.GetName(), now.AsTime().UnixNano()), Namespace: ns},
		InvolvedObject: ref, Reason: reason, Message: msg, Type: typ, Count: 1,
		Source:         proto.Clone(r.source).(*corev1.EventSource),
		FirstTimestamp: now, LastTimestamp: now,
		ReportingComponent: r.source.GetComponent(), ReportingInstance: r.source.GetHost(),
	})
}

// Ref is the reference to obj an event carries. A Node's uid is its name,
// as the kubelet refers to it and as kubectl describe node looks it up.
func Ref(obj Object) *corev1.ObjectReference {
	m := obj.GetMetadata()
	apiVersion, kind := typeOf(obj)
	ref := &corev1.ObjectReference{Kind: kind, ApiVersion: apiVersion, Namespace: m.GetNamespace(),
		Name: m.GetName(), Uid: m.GetUid(), ResourceVersion: m.GetResourceVersion()}
	if kind == "Node" && apiVersion == "v1" {
		ref.Uid = m.GetName()
	}
	return ref
}

// typeOf is obj's apiVersion and kind: its own fields when set, else
// derived from its message, whose package is skiff.<group>.<version>.
func typeOf(obj Object) (apiVersion, kind string) {
	if t, ok := obj.(interface {
		GetApiVersion() string
		GetKind() string
	}); ok && t.GetKind() != "" && t.GetApiVersion() != "" {
		return t.GetApiVersion(), t.GetKind()
	}
	d := obj.ProtoReflect().Descriptor()
	parts := strings.Split(string(d.ParentFile().Package()), ".") // skiff, group, version
	group, version := parts[len(parts)-2], parts[len(parts)-1]
	switch group {
	case "core":
		return version, string(d.Name())
	case "apps", "batch", "autoscaling", "policy":
		return group + "/" + version, string(d.Name())
	default:
		return group + ".k8s.io/" + version, string(d.Name())
	}
}
