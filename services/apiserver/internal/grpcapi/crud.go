// Package grpcapi is the gRPC face: one typed service per resource
// (proto/skiff/<group>/v1/services.proto) over the same registry backends
// as the REST face. Errors become gRPC statuses that carry the Kubernetes
// Status as a detail.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

// writeRequest is a Create or Update request of one kind.
type writeRequest[T proto.Message] interface {
	GetObject() T
	GetOptions() *metav1.WriteOptions
}

// crud serves the verbs every resource service has. T is the object, L its
// list, E its watch event, C and U its create and update requests; the
// method set matches the generated service interfaces.
type crud[T, L proto.Message, E any, C writeRequest[T], U writeRequest[T]] struct {
	backend registry.Backend
}

// event builds a <Kind>WatchEvent: every one is {type = 1; object = 2;
// status = 3}.
func (c *crud[T, L, E, C, U]) event(typ string, obj proto.Message, st *metav1.Status) *E {
	out := new(E)
	m := any(out).(proto.Message).ProtoReflect()
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("type"), protoreflect.ValueOfString(typ))
	if obj != nil {
		m.Set(fields.ByName("object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
	}
	if st != nil {
		m.Set(fields.ByName("status"), protoreflect.ValueOfMessage(st.ProtoReflect()))
	}
	return out
}

func updateOptions(o *metav1.WriteOptions, subresource string) registry.UpdateOptions {
	return registry.UpdateOptions{DryRun: o.GetDryRun(), FieldManager: o.GetFieldManager(),
		FieldValidation: o.GetFieldValidation(), Subresource: subresource}
}

func result[T proto.Message](obj proto.Message, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, toStatus(err)
	}
	return obj.(T), nil
}

func (c *crud[T, L, E, C, U]) Create(ctx context.Context, req C) (T, error) {
	o := req.GetOptions()
	return result[T](c.backend.Create(ctx, req.GetObject(), registry.CreateOptions{
		DryRun: o.GetDryRun(), FieldManager: o.GetFieldManager(), FieldValidation: o.GetFieldValidation()}))
}

func (c *crud[T, L, E, C, U]) Get(ctx context.Context, req *metav1.GetRequest) (T, error) {
	return result[T](c.backend.Get(ctx, req.GetNamespace(), req.GetName(), registry.GetOptions{ResourceVersion: req.GetResourceVersion()}))
}

func listOptions(req *metav1.ListRequest) registry.ListOptions {
	return registry.ListOptions{
		LabelSelector: req.GetLabelSelector(), FieldSelector: req.GetFieldSelector(),
		ResourceVersion: req.GetResourceVersion(), ResourceVersionMatch: req.GetResourceVersionMatch(),
		Limit: req.GetLimit(), Continue: req.GetContinue(), AllowWatchBookmarks: req.GetAllowWatchBookmarks(),
		SendInitialEvents: req.SendInitialEvents,
	}
}

func (c *crud[T, L, E, C, U]) List(ctx context.Context, req *metav1.ListRequest) (L, error) {
	return result[L](c.backend.List(ctx, req.GetNamespace(), listOptions(req)))
}

// Watch streams events until the client goes away or the watch ends.
func (c *crud[T, L, E, C, U]) Watch(req *metav1.ListRequest, stream grpc.ServerStreamingServer[E]) error {
	ctx := stream.Context()
	w, err := c.backend.Watch(ctx, req.GetNamespace(), listOptions(req))
	if err != nil {
		return toStatus(err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			var out *E
			if ev.Type == registry.Error {
				st, _ := ev.Object.(*metav1.Status)
				out = c.event(ev.Type, nil, st)
			} else {
				out = c.event(ev.Type, ev.Object, nil)
			}
			if err := stream.Send(out); err != nil {
				return err
			}
		}
	}
}

func (c *crud[T, L, E, C, U]) Update(ctx context.Context, req U) (T, error) {
	return result[T](c.backend.Update(ctx, req.GetObject(), updateOptions(req.GetOptions(), "")))
}

func (c *crud[T, L, E, C, U]) UpdateStatus(ctx context.Context, req U) (T, error) {
	return result[T](c.backend.UpdateStatus(ctx, req.GetObject(), updateOptions(req.GetOptions(), "status")))
}

func (c *crud[T, L, E, C, U]) Patch(ctx context.Context, req *metav1.PatchRequest) (T, error) {
	return result[T](c.backend.Patch(ctx, req.GetNamespace(), req.GetName(),
		registry.Patch{Type: req.GetType(), Data: req.GetData()}, updateOptions(req.GetOptions(), req.GetSubresource())))
}

func (c *crud[T, L, E, C, U]) Delete(ctx context.Context, req *metav1.DeleteRequest) (T, error) {
	return result[T](c.backend.Delete(ctx, req.GetNamespace(), req.GetName(), req.GetOptions()))
}

// statusOK is the Status of a successful call that returns no object.
func statusOK() *metav1.Status {
	return &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success", Code: 201}
}
