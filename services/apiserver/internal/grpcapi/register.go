// Package grpcapi is the gRPC face: one typed service per resource
// (proto/skiff/<group>/v1/services.proto) over the same registry backends
// as the REST face, registered from the kinds table: a resource's service
// is found among the compiled-in descriptors by its name and its methods
// are bound to the backend by verb. Errors become gRPC statuses that
// carry the Kubernetes Status as a detail.
package grpcapi

import (
	"context"
	"fmt"
	"google.golang.org/grpc/metadata"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// ServiceName is the gRPC service of a resource: <Kind>Service in the
// protobuf package of its messages (skiff.core.v1.PodService).
func ServiceName(res *registry.Resource) protoreflect.FullName {
	pkg := res.New().ProtoReflect().Descriptor().ParentFile().Package()
	return pkg.Append(protoreflect.Name(res.Kind + "Service"))
}

// Register serves, for every resource whose protobuf package declares its
// service, that service over the resource's backend. Resources without
// one (served on REST only) are skipped; a service with a method this
// package cannot bind, or whose backend lacks what the method needs, is an
// error.
//
// Every call is authorized by az before the backend sees it, as the same
// request on the REST face is.
func Register(s grpc.ServiceRegistrar, resources []*registry.Resource, backend func(*registry.Resource) registry.Backend, az authorizer.Authorizer) error {
	for _, res := range resources {
		desc, err := protoregistry.GlobalFiles.FindDescriptorByName(ServiceName(res))
		if err != nil {
			continue
		}
		sd, ok := desc.(protoreflect.ServiceDescriptor)
		if !ok {
			return fmt.Errorf("%s is not a service", ServiceName(res))
		}
		b := backend(res)
		if b == nil {
			return fmt.Errorf("no backend for %s", res.GroupVersion()+"/"+res.Plural)
		}
		svc, err := bind(sd, res, b, az)
		if err != nil {
			return err
		}
		s.RegisterService(svc, struct{}{})
	}
	return nil
}

// bind builds the service description: every method of sd bound to b by
// its name, behind az.
func bind(sd protoreflect.ServiceDescriptor, res *registry.Resource, b registry.Backend, az authorizer.Authorizer) (*grpc.ServiceDesc, error) {
	out := &grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*any)(nil), Metadata: sd.ParentFile().Path()}
	methods := sd.Methods()
	for i := range methods.Len() {
		md := methods.Get(i)
		if md.IsStreamingServer() {
			if md.Name() != "Watch" {
				return nil, fmt.Errorf("%s: no handler for the stream %s", sd.FullName(), md.Name())
			}
			stream, err := watchStream(md, res, b, az)
			if err != nil {
				return nil, err
			}
			out.Streams = append(out.Streams, stream)
			continue
		}
		call, err := unaryCall(md, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.FullName(), err)
		}
		method, err := unary(md, guard(az, res, string(md.Name()), call))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.FullName(), err)
		}
		out.Methods = append(out.Methods, method)
	}
	return out, nil
}

type call func(ctx context.Context, req proto.Message) (proto.Message, error)

// guard authorizes a call before making it.
func guard(az authorizer.Authorizer, res *registry.Resource, method string, c call) call {
	return func(ctx context.Context, req proto.Message) (proto.Message, error) {
		if err := authorize(ctx, az, res, method, req); err != nil {
			return nil, err
		}
		return c(ctx, req)
	}
}

// writeRequest is a Create or Update request: {object = 1; options = 2}.
type writeRequest interface {
	GetOptions() *metav1.WriteOptions
}

// objectOf is the object field of a write request.
func objectOf(req proto.Message) proto.Message {
	m := req.ProtoReflect()
	return m.Get(m.Descriptor().Fields().ByName("object")).Message().Interface()
}

// unaryCall is the backend call of a unary method, by the method's name.
func unaryCall(md protoreflect.MethodDescriptor, b registry.Backend) (call, error) {
	missing := func(what string) error {
		return fmt.Errorf("method %s needs a backend with %s", md.Name(), what)
	}
	switch md.Name() {
	case "Create":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			o := req.(writeRequest).GetOptions()
			return b.Create(ctx, objectOf(req), registry.CreateOptions{
				DryRun: o.GetDryRun(), FieldManager: fieldManager(ctx, o), FieldValidation: o.GetFieldValidation()})
		}, nil
	case "Get":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*metav1.GetRequest)
			return b.Get(ctx, r.GetNamespace(), r.GetName(), registry.GetOptions{ResourceVersion: r.GetResourceVersion()})
		}, nil
	case "List":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*metav1.ListRequest)
			return b.List(ctx, r.GetNamespace(), listOptions(r))
		}, nil
	case "Update":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return b.Update(ctx, objectOf(req), updateOptions(ctx, req.(writeRequest).GetOptions(), ""))
		}, nil
	case "UpdateStatus":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return b.UpdateStatus(ctx, objectOf(req), updateOptions(ctx, req.(writeRequest).GetOptions(), "status"))
		}, nil
	case "Patch":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*metav1.PatchRequest)
			return b.Patch(ctx, r.GetNamespace(), r.GetName(), registry.Patch{Type: r.GetType(), Data: r.GetData()},
				updateOptions(ctx, r.GetOptions(), r.GetSubresource()))
		}, nil
	case "Delete":
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*metav1.DeleteRequest)
			return b.Delete(ctx, r.GetNamespace(), r.GetName(), r.GetOptions())
		}, nil
	case "GetScale", "UpdateScale":
		sc, ok := b.(registry.Scaler)
		if !ok {
			return nil, missing("the scale subresource")
		}
		if md.Name() == "GetScale" {
			return func(ctx context.Context, req proto.Message) (proto.Message, error) {
				r := req.(*metav1.GetRequest)
				return sc.GetScale(ctx, r.GetNamespace(), r.GetName())
			}, nil
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			scale := req.(interface{ GetScale() *autoscalingv1.Scale }).GetScale()
			return sc.UpdateScale(ctx, scale.GetMetadata().GetNamespace(), scale.GetMetadata().GetName(), scale)
		}, nil
	case "Bind":
		bd, ok := b.(registry.Binder)
		if !ok {
			return nil, missing("the binding subresource")
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			if err := bd.Bind(ctx, req.(*corev1.BindPodRequest).GetBinding()); err != nil {
				return nil, err
			}
			return statusOK(), nil
		}, nil
	case "Evict":
		ev, ok := b.(registry.Evictor)
		if !ok {
			return nil, missing("the eviction subresource")
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*corev1.EvictPodRequest)
			if err := ev.Evict(ctx, r.GetEviction(), r.GetOptions().GetDryRun()); err != nil {
				return nil, err
			}
			return statusOK(), nil
		}, nil
	case "Finalize":
		f, ok := b.(registry.Finalizer)
		if !ok {
			return nil, missing("the finalize subresource")
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return f.Finalize(ctx, objectOf(req), updateOptions(ctx, req.(writeRequest).GetOptions(), "finalize"))
		}, nil
	case "UpdateApproval":
		pu, ok := b.(registry.PartUpdater)
		if !ok {
			return nil, missing("the approval subresource")
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return pu.UpdatePart(ctx, objectOf(req), updateOptions(ctx, req.(writeRequest).GetOptions(), "approval"))
		}, nil
	case "CreateToken":
		t, ok := b.(registry.TokenIssuer)
		if !ok {
			return nil, missing("the token subresource")
		}
		return func(ctx context.Context, req proto.Message) (proto.Message, error) {
			r := req.(*corev1.CreateServiceAccountTokenRequest)
			return t.CreateToken(ctx, r.GetNamespace(), r.GetName(), r.GetTokenRequest())
		}, nil
	}
	return nil, fmt.Errorf("no handler for method %s", md.Name())
}

// unary is the grpc description of a unary method: the request decoded
// into its message type, the interceptors run, errors made statuses.
func unary(md protoreflect.MethodDescriptor, c call) (grpc.MethodDesc, error) {
	full := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	input, err := messageType(md.Input())
	if err != nil {
		return grpc.MethodDesc{}, err
	}
	return grpc.MethodDesc{
		MethodName: string(md.Name()),
		Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			req := input.New().Interface()
			if err := dec(req); err != nil {
				return nil, err
			}
			handle := func(ctx context.Context, r any) (any, error) {
				out, err := c(ctx, r.(proto.Message))
				if err != nil {
					return nil, toStatus(err)
				}
				return out, nil
			}
			if interceptor == nil {
				return handle(ctx, req)
			}
			return interceptor(ctx, req, &grpc.UnaryServerInfo{FullMethod: full}, handle)
		},
	}, nil
}

// messageType is the compiled-in Go type of md.
func messageType(md protoreflect.MessageDescriptor) (protoreflect.MessageType, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		return nil, fmt.Errorf("message type %s: %w", md.FullName(), err)
	}
	return mt, nil
}

// watchStream serves Watch: the backend's events as <Kind>WatchEvent
// messages ({type = 1; object = 2; status = 3}) until the client goes
// away or the watch ends.
func watchStream(md protoreflect.MethodDescriptor, res *registry.Resource, b registry.Backend, az authorizer.Authorizer) (grpc.StreamDesc, error) {
	output, err := messageType(md.Output())
	if err != nil {
		return grpc.StreamDesc{}, err
	}
	return grpc.StreamDesc{
		StreamName:    string(md.Name()),
		ServerStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			req := &metav1.ListRequest{}
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			if err := authorize(stream.Context(), az, res, "Watch", req); err != nil {
				return toStatus(err)
			}
			return pump(stream.Context(), b, req, func(ev registry.Event) error {
				out := output.New().Interface()
				setEvent(out, ev)
				return stream.SendMsg(out)
			})
		},
	}, nil
}

// setEvent fills a watch event message from a backend event; an ERROR
// event carries its Status instead of an object.
func setEvent(out proto.Message, ev registry.Event) {
	m := out.ProtoReflect()
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("type"), protoreflect.ValueOfString(ev.Type))
	if st, isError := errorStatus(ev); isError {
		if st != nil {
			m.Set(fields.ByName("status"), protoreflect.ValueOfMessage(st.ProtoReflect()))
		}
		return
	}
	if ev.Object != nil {
		m.Set(fields.ByName("object"), protoreflect.ValueOfMessage(ev.Object.ProtoReflect()))
	}
}

// errorStatus is the Status of an ERROR event; isError is false for the
// events that carry an object.
func errorStatus(ev registry.Event) (st *metav1.Status, isError bool) {
	if ev.Type != registry.Error {
		return nil, false
	}
	st, _ = ev.Object.(*metav1.Status)
	return st, true
}

// pump watches b as req asks and hands every event to send, until the
// client goes away, the watch ends or send fails.
func pump(ctx context.Context, b registry.Backend, req *metav1.ListRequest, send func(registry.Event) error) error {
	w, err := b.Watch(ctx, req.GetNamespace(), listOptions(req))
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
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

func listOptions(req *metav1.ListRequest) registry.ListOptions {
	return registry.ListOptions{
		LabelSelector: req.GetLabelSelector(), FieldSelector: req.GetFieldSelector(),
		ResourceVersion: req.GetResourceVersion(), ResourceVersionMatch: req.GetResourceVersionMatch(),
		Limit: req.GetLimit(), Continue: req.GetContinue(), AllowWatchBookmarks: req.GetAllowWatchBookmarks(),
		SendInitialEvents: req.SendInitialEvents,
	}
}

func updateOptions(ctx context.Context, o *metav1.WriteOptions, subresource string) registry.UpdateOptions {
	return registry.UpdateOptions{DryRun: o.GetDryRun(), FieldManager: fieldManager(ctx, o),
		FieldValidation: o.GetFieldValidation(), Subresource: subresource}
}

// statusOK is the Status of a successful call that returns no object.
func statusOK() *metav1.Status {
	return &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Success", Code: 201}
}

// fieldManager is the write's field manager or, as Kubernetes defaults it
// from the User-Agent, the caller's user agent before the first "/"
// (skiff-scheduler/... is skiff-scheduler).
func fieldManager(ctx context.Context, o *metav1.WriteOptions) string {
	if m := o.GetFieldManager(); m != "" {
		return m
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, ua := range md.Get("user-agent") {
		// grpc-go appends its own name: "controller-manager grpc-go/1.85.0"
		name, _, _ := strings.Cut(registry.ManagerFromUserAgent(ua), " ")
		return name
	}
	return ""
}
