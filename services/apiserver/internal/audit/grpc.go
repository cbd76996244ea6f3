package audit

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// grpcAuditID is the metadata key of the audit ID on the gRPC face, in
// the request (the client's) and in the response header.
const grpcAuditID = "audit-id"

// pendingCall is what the interceptor knows of a gRPC call before its
// authorization says what the call asks for.
type pendingCall struct {
	auditor   *Auditor
	uri       string
	userAgent string
	sourceIPs []string
}

// Authorizer wraps the authorizer of the requests' own authorization, on
// both faces. It records Kubernetes' authorization.k8s.io/decision (allow
// or forbid) and authorization.k8s.io/reason annotations on the request's
// events; and a gRPC call's record starts at its first authorization,
// where the call's verb and resource are known: the policy is evaluated
// for them and RequestReceived recorded. Impersonation and the escalation
// checks use the bare authorizer.
func (a *Auditor) Authorizer(az authorizer.Authorizer) authorizer.Authorizer {
	if a == nil {
		return az
	}
	return authorizer.Func(func(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		rec := From(ctx)
		rec.startCall(attrs)
		d, reason, err := az.Authorize(ctx, attrs)
		if rec.level() != LevelNone {
			decision := "forbid"
			if d == authorizer.DecisionAllow {
				decision = "allow"
			}
			AddAnnotation(ctx, "authorization.k8s.io/decision", decision)
			AddAnnotation(ctx, "authorization.k8s.io/reason", reason)
		}
		return d, reason, err
	})
}

// startCall starts a pending gRPC call's record from the attributes of
// its first authorization (which carry the user).
func (r *Request) startCall(attrs authorizer.Attributes) {
	if r == nil {
		return
	}
	r.mu.Lock()
	p := r.pending
	r.pending = nil
	r.mu.Unlock()
	if p == nil {
		return
	}
	u := auth.User{Name: attrs.User, UID: attrs.UID, Groups: attrs.Groups, Extra: attrs.Extra}
	ok := r.start(p.auditor.policy.Evaluate(attrs), p.auditor.sink, r.received, func(ev *Event) {
		describe(ev, attrs, u, attrs.User != "")
		ev.RequestURI, ev.UserAgent, ev.SourceIPs = p.uri, p.userAgent, p.sourceIPs
	})
	if ok {
		r.mu.Lock()
		r.long = LongRunning(attrs)
		r.mu.Unlock()
		r.Stage(StageRequestReceived)
	}
}

// beginCall gives a gRPC call its audit ID (the client's audit-id
// metadata or a new UUID, sent back in the response header) and, when
// auditing, a pending record.
func (a *Auditor) beginCall(ctx context.Context, method string) (context.Context, *Request) {
	md, _ := metadata.FromIncomingContext(ctx)
	id := ""
	if v := md.Get(grpcAuditID); len(v) > 0 {
		id = v[0]
	}
	if id == "" {
		id = uuid.NewString()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(grpcAuditID, id))
	ctx, rec := withRequest(ctx, id)
	if a != nil {
		p := &pendingCall{auditor: a, uri: method}
		if ua := md.Get("user-agent"); len(ua) > 0 {
			p.userAgent = truncateUserAgent(ua[0])
		}
		if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
			host, _, err := net.SplitHostPort(pr.Addr.String())
			if err != nil {
				host = pr.Addr.String()
			}
			p.sourceIPs = []string{host}
		}
		rec.pending = p
	}
	return ctx, rec
}

// UnaryInterceptor records unary calls; it goes after authentication.
func (a *Auditor) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	ctx, rec := a.beginCall(ctx, info.FullMethod)
	if a == nil {
		return next(ctx, req)
	}
	defer func() {
		if p := recover(); p != nil {
			rec.panicked(p)
			panic(p)
		}
		if rec.level() == LevelNone {
			return
		}
		if m, ok := req.(proto.Message); ok {
			logCallRequest(ctx, m)
		}
		rec.endCall(ctx, resp, err)
	}()
	return next(ctx, req)
}

// StreamInterceptor records streaming calls (watches): ResponseStarted
// when the first message goes out, ResponseComplete when the stream ends.
func (a *Auditor) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
	ctx, rec := a.beginCall(ss.Context(), info.FullMethod)
	stream := &auditedStream{ServerStream: ss, ctx: ctx, rec: rec}
	if a == nil {
		return next(srv, stream)
	}
	defer func() {
		if p := recover(); p != nil {
			rec.panicked(p)
			panic(p)
		}
		if rec.level() != LevelNone {
			rec.endCall(ctx, nil, err)
		}
	}()
	return next(srv, stream)
}

type auditedStream struct {
	grpc.ServerStream
	ctx  context.Context
	rec  *Request
	once sync.Once
}

func (s *auditedStream) Context() context.Context { return s.ctx }

// SendMsg starts the response.
func (s *auditedStream) SendMsg(m any) error {
	s.once.Do(func() {
		if s.rec.level() != LevelNone && s.rec.responseStatus() == nil {
			s.rec.setCode(http.StatusOK)
			if s.rec.isLong() {
				s.rec.Stage(StageResponseStarted)
			}
		}
	})
	return s.ServerStream.SendMsg(m)
}

func (r *Request) isLong() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.long
}

func (r *Request) panicked(p any) {
	if r.level() == LevelNone {
		return
	}
	r.setStatus(&ResponseStatus{Code: http.StatusInternalServerError, Status: "Failure", Reason: "InternalError",
		Message: "APIServer panic'd: " + stringOf(p)})
	r.Stage(StagePanic)
}

func stringOf(p any) string {
	if s, ok := p.(interface{ Error() string }); ok {
		return s.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "panic"
}

// endCall records a call's answer and ResponseComplete.
func (r *Request) endCall(ctx context.Context, resp any, err error) {
	if err != nil {
		started := r.responseStatus() != nil
		r.setStatus(callStatus(err))
		if !started && r.isLong() {
			r.Stage(StageResponseStarted)
		}
	} else {
		if m, ok := resp.(proto.Message); ok && m != nil {
			LogResponseObject(ctx, m, nil)
		}
		if r.responseStatus() == nil {
			code := http.StatusOK
			if r.verb() == "create" {
				code = http.StatusCreated
			}
			r.setCode(code)
		}
	}
	finish(r, r.isLong())
}

func (r *Request) verb() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.event.Verb
}

// callStatus is the Status of a failed call: the Kubernetes Status its
// gRPC status carries, or one made of its code and message.
func callStatus(err error) *ResponseStatus {
	s, _ := status.FromError(err)
	for _, d := range s.Details() {
		if st, ok := d.(*metav1.Status); ok {
			return StatusOf(st)
		}
	}
	code, ok := httpCodes[s.Code()]
	if !ok {
		code = http.StatusInternalServerError
	}
	return &ResponseStatus{Status: "Failure", Message: s.Message(), Code: int32(code)}
}

// httpCodes are the HTTP codes of gRPC codes without a Kubernetes Status.
var httpCodes = map[codes.Code]int{
	codes.InvalidArgument: 400, codes.Unauthenticated: 401, codes.PermissionDenied: 403, codes.NotFound: 404,
	codes.AlreadyExists: 409, codes.Aborted: 409, codes.FailedPrecondition: 400, codes.ResourceExhausted: 429,
	codes.Unimplemented: 405, codes.Unavailable: 503, codes.DeadlineExceeded: 504, codes.Canceled: 499,
}

// requestObjectFields are the fields of a gRPC request that hold what the
// same request on REST carries as its body.
var requestObjectFields = []protoreflect.Name{"object", "scale", "binding", "token_request"}

// logCallRequest records a call's request object: a write's object, or a
// patch.
func logCallRequest(ctx context.Context, req proto.Message) {
	switch r := req.(type) {
	case *metav1.PatchRequest:
		LogRequestPatch(ctx, r.GetData())
		return
	case *metav1.MetadataPatchRequest:
		LogRequestPatch(ctx, r.GetRequest().GetData())
		return
	}
	m := req.ProtoReflect()
	for _, name := range requestObjectFields {
		fd := m.Descriptor().Fields().ByName(name)
		if fd != nil && fd.Message() != nil && !fd.IsList() && !fd.IsMap() && m.Has(fd) {
			LogRequestObject(ctx, m.Get(fd).Message().Interface())
			return
		}
	}
}
