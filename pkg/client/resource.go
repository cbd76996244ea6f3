package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	metav1 "skiff.dev/api/meta/v1"
)

// WriteOptions are the options of a create, update or patch.
type WriteOptions struct {
	DryRun       bool
	FieldManager string
	// FieldValidation (Strict, Warn, Ignore) applies to patches.
	FieldValidation string
}

func (o WriteOptions) proto() *metav1.WriteOptions {
	return &metav1.WriteOptions{DryRun: o.DryRun, FieldManager: o.FieldManager, FieldValidation: o.FieldValidation}
}

// ListOptions select what a list or watch returns.
type ListOptions struct {
	LabelSelector        string
	FieldSelector        string
	ResourceVersion      string
	ResourceVersionMatch string
	Limit                int64
	Continue             string
	AllowWatchBookmarks  bool
	// SendInitialEvents starts a watch with the current objects, ended by
	// a bookmark (needs ResourceVersionMatch "NotOlderThan").
	SendInitialEvents *bool
}

// Event types of a watch.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
	Bookmark = "BOOKMARK"
	Error    = "ERROR"
)

// Event is one watch event. Status is set on ERROR events (a 410 Expired
// tells the caller to list again).
type Event[T proto.Message] struct {
	Type   string
	Object T
	Status *metav1.Status
}

// Watcher is an open watch: ResultChan closes when the watch ends.
type Watcher[T proto.Message] interface {
	ResultChan() <-chan Event[T]
	Stop()
}

// Resource is the typed client of one kind in one namespace ("" for
// cluster-scoped kinds, or all namespaces in List and Watch).
type Resource[T, L proto.Message] struct {
	namespace string
	create    func(context.Context, T, WriteOptions) (T, error)
	get       func(context.Context, *metav1.GetRequest) (T, error)
	list      func(context.Context, *metav1.ListRequest) (L, error)
	watch     func(context.Context, *metav1.ListRequest) (func() (Event[T], error), error)
	update    func(ctx context.Context, obj T, o WriteOptions, status bool) (T, error)
	patch     func(context.Context, *metav1.PatchRequest) (T, error)
	delete    func(context.Context, *metav1.DeleteRequest) (T, error)
}

// For is the typed client of the kind whose object is T and list L, in a
// namespace ("" for cluster-scoped kinds, or every namespace in List and
// Watch). It speaks the kind's gRPC service, <Kind>Service in the protobuf
// package of T, so every served kind has one without code of its own.
func For[T, L proto.Message](c *Client, namespace string) *Resource[T, L] {
	return forConn[T, L](c.conn, namespace)
}

// forConn builds the client from the descriptors of T's package: the
// service's methods by name, its Create<Kind>Request,
// Update<Kind>Request and <Kind>WatchEvent messages. A kind whose
// package lacks them is a programming error and panics.
func forConn[T, L proto.Message](conn grpc.ClientConnInterface, namespace string) *Resource[T, L] {
	var zeroT T
	var zeroL L
	svc := serviceOf(zeroT.ProtoReflect().Descriptor())
	method, createReq, updateReq, eventType := svc.method, svc.createReq, svc.updateReq, svc.event
	newT := func() T { return zeroT.ProtoReflect().New().Interface().(T) }
	one := func(ctx context.Context, name string, req proto.Message) (T, error) {
		out := newT()
		if err := conn.Invoke(ctx, method(name), req, out); err != nil {
			var zero T
			return zero, err
		}
		return out, nil
	}
	return &Resource[T, L]{
		namespace: namespace,
		create: func(ctx context.Context, obj T, o WriteOptions) (T, error) {
			return one(ctx, "Create", writeRequest(createReq, obj, o))
		},
		get: func(ctx context.Context, r *metav1.GetRequest) (T, error) { return one(ctx, "Get", r) },
		list: func(ctx context.Context, r *metav1.ListRequest) (L, error) {
			out := zeroL.ProtoReflect().New().Interface().(L)
			if err := conn.Invoke(ctx, method("List"), r, out); err != nil {
				return zeroL, err
			}
			return out, nil
		},
		watch: func(ctx context.Context, r *metav1.ListRequest) (func() (Event[T], error), error) {
			stream, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}, method("Watch"))
			if err != nil {
				return nil, err
			}
			if err := stream.SendMsg(r); err != nil {
				return nil, err
			}
			if err := stream.CloseSend(); err != nil {
				return nil, err
			}
			return func() (Event[T], error) {
				ev := eventType.New()
				if err := stream.RecvMsg(ev.Interface()); err != nil {
					return Event[T]{}, err
				}
				return eventOf[T](ev), nil
			}, nil
		},
		update: func(ctx context.Context, obj T, o WriteOptions, status bool) (T, error) {
			if status {
				return one(ctx, "UpdateStatus", writeRequest(updateReq, obj, o))
			}
			return one(ctx, "Update", writeRequest(updateReq, obj, o))
		},
		patch:  func(ctx context.Context, r *metav1.PatchRequest) (T, error) { return one(ctx, "Patch", r) },
		delete: func(ctx context.Context, r *metav1.DeleteRequest) (T, error) { return one(ctx, "Delete", r) },
	}
}

// kindService is what a kind's client needs of its package: the
// service's method names and its request and watch event messages.
type kindService struct {
	prefix                      string // "/skiff.core.v1.PodService/"
	createReq, updateReq, event protoreflect.MessageType
}

func (k *kindService) method(name string) string { return k.prefix + name }

// services caches kindService by the kind's message name: clients are
// made per call (c.CoreV1().Pods(ns)), the lookups once.
var services sync.Map

func serviceOf(desc protoreflect.MessageDescriptor) *kindService {
	if k, ok := services.Load(desc.FullName()); ok {
		return k.(*kindService)
	}
	pkg, kind := desc.ParentFile().Package(), string(desc.Name())
	k := &kindService{
		prefix:    "/" + string(pkg) + "." + kind + "Service/",
		createReq: messageType(pkg.Append(protoreflect.Name("Create" + kind + "Request"))),
		updateReq: messageType(pkg.Append(protoreflect.Name("Update" + kind + "Request"))),
		event:     messageType(pkg.Append(protoreflect.Name(kind + "WatchEvent"))),
	}
	services.Store(desc.FullName(), k)
	return k
}

func messageType(name protoreflect.FullName) protoreflect.MessageType {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		panic(fmt.Sprintf("client: the kind has no %s message: %v", name, err))
	}
	return mt
}

// eventOf reads a <Kind>WatchEvent: {type = 1; object = 2; status = 3}.
func eventOf[T proto.Message](m protoreflect.Message) Event[T] {
	fields := m.Descriptor().Fields()
	ev := Event[T]{Type: m.Get(fields.ByName("type")).String()}
	if fd := fields.ByName("object"); m.Has(fd) {
		ev.Object = m.Get(fd).Message().Interface().(T)
	}
	if fd := fields.ByName("status"); m.Has(fd) {
		ev.Status = m.Get(fd).Message().Interface().(*metav1.Status)
	}
	return ev
}

// writeRequest builds a Create<Kind>Request or Update<Kind>Request: every
// one is {object = 1; options = 2}.
func writeRequest(mt protoreflect.MessageType, obj proto.Message, o WriteOptions) proto.Message {
	m := mt.New()
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
	m.Set(fields.ByName("options"), protoreflect.ValueOfMessage(o.proto().ProtoReflect()))
	return m.Interface()
}

func fail[T any](err error) (T, error) {
	var zero T
	return zero, FromGRPC(err)
}

// Create stores a new object; its namespace is the resource's unless the
// object names one.
func (r *Resource[T, L]) Create(ctx context.Context, obj T, opts WriteOptions) (T, error) {
	out, err := r.create(ctx, r.inNamespace(obj), opts)
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

// inNamespace sets the object's namespace when it has none.
func (r *Resource[T, L]) inNamespace(obj T) T {
	if r.namespace == "" {
		return obj
	}
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	if fd == nil {
		return obj
	}
	meta, ok := m.Get(fd).Message().Interface().(*metav1.ObjectMeta)
	if !ok || meta.GetNamespace() != "" {
		return obj
	}
	obj = proto.Clone(obj).(T)
	m = obj.ProtoReflect()
	meta = m.Mutable(fd).Message().Interface().(*metav1.ObjectMeta)
	meta.Namespace = r.namespace
	return obj
}

// Get reads one object.
func (r *Resource[T, L]) Get(ctx context.Context, name string) (T, error) {
	out, err := r.get(ctx, &metav1.GetRequest{Namespace: r.namespace, Name: name})
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

func (o ListOptions) proto(namespace string) *metav1.ListRequest {
	return &metav1.ListRequest{Namespace: namespace, LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector,
		ResourceVersion: o.ResourceVersion, ResourceVersionMatch: o.ResourceVersionMatch, Limit: o.Limit,
		Continue: o.Continue, AllowWatchBookmarks: o.AllowWatchBookmarks, SendInitialEvents: o.SendInitialEvents}
}

// List returns the matching objects.
func (r *Resource[T, L]) List(ctx context.Context, opts ListOptions) (L, error) {
	out, err := r.list(ctx, opts.proto(r.namespace))
	if err != nil {
		return fail[L](err)
	}
	return out, nil
}

// Update replaces an object; its resourceVersion must be current.
func (r *Resource[T, L]) Update(ctx context.Context, obj T, opts WriteOptions) (T, error) {
	out, err := r.update(ctx, r.inNamespace(obj), opts, false)
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

// UpdateStatus replaces an object's status only.
func (r *Resource[T, L]) UpdateStatus(ctx context.Context, obj T, opts WriteOptions) (T, error) {
	out, err := r.update(ctx, r.inNamespace(obj), opts, true)
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

// Patch types.
const (
	MergePatch     = "application/merge-patch+json"
	JSONPatch      = "application/json-patch+json"
	StrategicPatch = "application/strategic-merge-patch+json"
)

// Patch applies a patch of the given type; subresource is "" or "status".
func (r *Resource[T, L]) Patch(ctx context.Context, name, patchType string, data []byte, opts WriteOptions, subresource string) (T, error) {
	out, err := r.patch(ctx, &metav1.PatchRequest{Namespace: r.namespace, Name: name, Type: patchType, Data: data,
		Options: opts.proto(), Subresource: subresource})
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

// Delete deletes an object and returns its last state.
func (r *Resource[T, L]) Delete(ctx context.Context, name string, opts *metav1.DeleteOptions) (T, error) {
	out, err := r.delete(ctx, &metav1.DeleteRequest{Namespace: r.namespace, Name: name, Options: opts})
	if err != nil {
		return fail[T](err)
	}
	return out, nil
}

// Watch streams changes until ctx ends, Stop is called or the server ends
// the watch.
func (r *Resource[T, L]) Watch(ctx context.Context, opts ListOptions) (Watcher[T], error) {
	req := opts.proto(r.namespace)
	return startWatch(ctx, func(ctx context.Context) (func() (Event[T], error), error) { return r.watch(ctx, req) })
}

// startWatch opens a stream with open, under a context the returned
// watcher's Stop cancels, and relays its events.
func startWatch[T proto.Message](ctx context.Context, open func(context.Context) (func() (Event[T], error), error)) (Watcher[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	recv, err := open(ctx)
	if err != nil {
		cancel()
		return nil, FromGRPC(err)
	}
	w := &watcher[T]{out: make(chan Event[T]), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, recv)
	return w, nil
}

type watcher[T proto.Message] struct {
	out    chan Event[T]
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (w *watcher[T]) run(ctx context.Context, recv func() (Event[T], error)) {
	defer close(w.done)
	defer close(w.out)
	for {
		ev, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || ctx.Err() != nil {
				return
			}
			ev = Event[T]{Type: Error, Status: statusOf(FromGRPC(err))}
		}
		select {
		case w.out <- ev:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (w *watcher[T]) ResultChan() <-chan Event[T] { return w.out }

// Stop ends the watch and waits until its goroutine is gone.
func (w *watcher[T]) Stop() {
	w.once.Do(func() {
		w.cancel()
		<-w.done
	})
}
