package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// Request is the audit record of one request, carried in its context from
// the moment its audit ID is known. Until the policy is evaluated it
// records nothing; a request the policy sends to None stays that way.
type Request struct {
	id       string
	received time.Time

	mu      sync.Mutex
	enabled bool
	config  RequestConfig
	sink    Sink
	event   Event
	// long says ResponseStarted is recorded (gRPC calls; the HTTP filter
	// keeps its own).
	long bool
	// pending is a gRPC call's until its first authorization.
	pending *pendingCall
}

type requestKey struct{}

// withRequest returns a context carrying a new record for id.
func withRequest(ctx context.Context, id string) (context.Context, *Request) {
	r := &Request{id: id}
	return context.WithValue(ctx, requestKey{}, r), r
}

// From returns the audit record a request's context carries, or nil.
func From(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// IDFrom returns the audit ID of a request, or "".
func IDFrom(ctx context.Context) string {
	if r := From(ctx); r != nil {
		return r.id
	}
	return ""
}

// ID is the request's audit ID.
func (r *Request) ID() string { return r.id }

// level is the recorded level, None when nothing is recorded.
func (r *Request) level() Level {
	if r == nil {
		return LevelNone
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.enabled {
		return LevelNone
	}
	return r.config.Level
}

// Level is how much of the request is recorded; None when nothing is.
func (r *Request) Level() Level { return r.level() }

// start evaluates nothing itself: it fills the event's metadata from what
// the caller evaluated and enables recording when the level is not None.
// It reports whether the request is recorded.
func (r *Request) start(cfg RequestConfig, sink Sink, received time.Time, fill func(*Event)) bool {
	if r == nil || sink == nil || cfg.Level == LevelNone || cfg.Level == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enabled, r.config, r.sink = true, cfg, sink
	r.event = Event{Kind: "Event", APIVersion: APIVersion, Level: cfg.Level, AuditID: r.id,
		RequestReceivedTimestamp: NewMicroTime(received)}
	fill(&r.event)
	return true
}

// update changes the event under the lock, when recording.
func (r *Request) update(f func(ev *Event)) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enabled {
		f(&r.event)
	}
}

// Stage records the event at stage, unless the policy omits that stage,
// and reports whether the backends took it.
func (r *Request) Stage(stage Stage) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.enabled || slices.Contains(r.config.OmitStages, stage) {
		return true
	}
	r.event.Stage = stage
	if stage == StageRequestReceived {
		r.event.StageTimestamp = r.event.RequestReceivedTimestamp
	} else {
		r.event.StageTimestamp = NewMicroTime(time.Now())
	}
	data, err := json.Marshal(&r.event)
	if err != nil {
		slog.Error("encoding an audit event", "auditID", r.id, "err", err)
		return false
	}
	return r.sink.Process(data)
}

// responseStatus is the recorded Status, nil before the answer.
func (r *Request) responseStatus() *ResponseStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.event.ResponseStatus
}

// setCode records the answer's HTTP status code, keeping what a Status
// answer said.
func (r *Request) setCode(code int) {
	r.update(func(ev *Event) {
		st := &ResponseStatus{}
		if ev.ResponseStatus != nil {
			*st = *ev.ResponseStatus
		}
		st.Code = int32(code)
		ev.ResponseStatus = st
	})
}

// setStatus replaces the recorded Status.
func (r *Request) setStatus(st *ResponseStatus) {
	r.update(func(ev *Event) { ev.ResponseStatus = st })
}

// AddAnnotation records key=value on the request's events; a key keeps
// its first value, as in Kubernetes.
func AddAnnotation(ctx context.Context, key, value string) {
	From(ctx).update(func(ev *Event) {
		if ev.Annotations == nil {
			ev.Annotations = map[string]string{}
		}
		if _, set := ev.Annotations[key]; !set {
			ev.Annotations[key] = value
		}
	})
}

// userInfo renders an authenticated user.
func userInfo(u auth.User) UserInfo {
	return UserInfo{Username: u.Name, UID: u.UID, Groups: slices.Clone(u.Groups), Extra: maps.Clone(u.Extra)}
}

// LogImpersonatedUser records the user a request acts as.
func LogImpersonatedUser(ctx context.Context, u auth.User) {
	From(ctx).update(func(ev *Event) {
		as := userInfo(u)
		ev.ImpersonatedUser = &as
	})
}

// LogRequestObject records the object a request carried (decoded, in any
// media type): at every level it completes the event's object reference
// with the object's name, namespace, uid and resourceVersion (a create
// names its object only in the body); from Request on it records the
// object as JSON.
func LogRequestObject(ctx context.Context, obj proto.Message) {
	r := From(ctx)
	level := r.level()
	if level == LevelNone || obj == nil {
		return
	}
	var raw json.RawMessage
	if !level.Less(LevelRequest) {
		raw = r.encode(obj)
	}
	ref, hasRef := refOf(obj)
	r.update(func(ev *Event) {
		if ev.ObjectRef == nil {
			ev.ObjectRef = &ObjectReference{}
		}
		out := *ev.ObjectRef
		if hasRef {
			fillEmpty(&out.Namespace, ref.Namespace)
			fillEmpty(&out.Name, ref.Name)
			fillEmpty(&out.UID, ref.UID)
			fillEmpty(&out.ResourceVersion, ref.ResourceVersion)
		}
		ev.ObjectRef = &out
		if raw != nil {
			ev.RequestObject = raw
		}
	})
}

// refOf reads the name, namespace, uid and resourceVersion of an object.
func refOf(obj proto.Message) (ObjectReference, bool) {
	if d, ok := obj.(*metav1.DynamicObject); ok {
		var o struct {
			Metadata struct {
				Name, Namespace, UID, ResourceVersion string
			}
		}
		if json.Unmarshal(d.GetJson(), &o) != nil {
			return ObjectReference{}, false
		}
		m := o.Metadata
		return ObjectReference{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}, true
	}
	m := metaOf(obj)
	if m == nil {
		return ObjectReference{}, false
	}
	return ObjectReference{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUid(), ResourceVersion: m.GetResourceVersion()}, true
}

func fillEmpty(field *string, v string) {
	if *field == "" {
		*field = v
	}
}

// LogRequestPatch records a patch body as the request object, from
// Request on, as Kubernetes does (whatever the patch type).
func LogRequestPatch(ctx context.Context, patch []byte) {
	r := From(ctx)
	if r.level().Less(LevelRequest) || len(patch) == 0 {
		return
	}
	raw := json.RawMessage(patch)
	if !json.Valid(patch) {
		// An apply patch in YAML: record it as JSON.
		js, err := kjson.YAMLToJSON(patch)
		if err != nil {
			return
		}
		raw = js
	}
	r.update(func(ev *Event) { ev.RequestObject = raw })
}

// LogResponseObject records what a request was answered with: a Status
// answer's status at every level, and from RequestResponse on the object
// as JSON (asJSON when the answer was already rendered so, else nil).
func LogResponseObject(ctx context.Context, obj proto.Message, asJSON []byte) {
	r := From(ctx)
	level := r.level()
	if level == LevelNone || obj == nil {
		return
	}
	if st, ok := obj.(*metav1.Status); ok {
		r.setStatus(StatusOf(st))
	}
	if level.Less(LevelRequestResponse) {
		return
	}
	var raw json.RawMessage
	if asJSON != nil && !r.omitManagedFields() {
		raw = asJSON
	} else {
		raw = r.encode(obj)
	}
	r.update(func(ev *Event) { ev.ResponseObject = raw })
}

// LogResponseStatus records an error answer's Status.
func LogResponseStatus(ctx context.Context, st *metav1.Status) {
	if r := From(ctx); r.level() != LevelNone && st != nil {
		r.setStatus(StatusOf(st))
	}
}

// StatusOf is the recorded form of a meta/v1 Status.
func StatusOf(st *metav1.Status) *ResponseStatus {
	out := &ResponseStatus{Status: st.GetStatus(), Message: st.GetMessage(), Reason: st.GetReason(), Code: st.GetCode()}
	if st.GetDetails() != nil {
		if d, err := kjson.Marshal(st.GetDetails()); err == nil {
			out.Details = d
		}
	}
	return out
}

func (r *Request) omitManagedFields() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.config.OmitManagedFields
}

// encode renders obj as JSON, without managed fields when the policy says
// so; nil when it cannot be rendered.
func (r *Request) encode(obj proto.Message) json.RawMessage {
	if d, ok := obj.(*metav1.DynamicObject); ok {
		if !json.Valid(d.GetJson()) {
			return nil
		}
		return d.GetJson()
	}
	if r.omitManagedFields() {
		obj = withoutManagedFields(obj)
	}
	data, err := kjson.Marshal(obj)
	if err != nil {
		slog.Error("encoding an object for the audit log", "auditID", r.id, "err", err)
		return nil
	}
	return data
}

// metaOf is an object's metadata, nil for a message without ObjectMeta.
func metaOf(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != (&metav1.ObjectMeta{}).ProtoReflect().Descriptor().FullName() || !m.Has(fd) {
		return nil
	}
	meta, _ := m.Get(fd).Message().Interface().(*metav1.ObjectMeta)
	return meta
}

// withoutManagedFields is a copy of obj (or of each item of a list)
// without metadata.managedFields.
func withoutManagedFields(obj proto.Message) proto.Message {
	hasManaged := func(o proto.Message) bool { m := metaOf(o); return m != nil && len(m.GetManagedFields()) > 0 }
	items := obj.ProtoReflect().Descriptor().Fields().ByName("items")
	isList := items != nil && items.IsList() && items.Message() != nil
	if !hasManaged(obj) && !isList {
		return obj
	}
	out := proto.Clone(obj)
	if m := metaOf(out); m != nil {
		m.ManagedFields = nil
	}
	if isList {
		l := out.ProtoReflect().Get(items).List()
		for i := range l.Len() {
			if m := metaOf(l.Get(i).Message().Interface()); m != nil {
				m.ManagedFields = nil
			}
		}
	}
	return out
}

// describe fills an event's request metadata: verb, user, object
// reference (resource requests), from what authorization sees.
func describe(ev *Event, a authorizer.Attributes, u auth.User, authenticated bool) {
	ev.Verb = a.Verb
	if authenticated {
		ev.User = userInfo(u)
	}
	if a.ResourceRequest {
		ev.ObjectRef = &ObjectReference{Resource: a.Resource, Namespace: a.Namespace, Name: a.Name,
			APIGroup: a.APIGroup, APIVersion: a.APIVersion, Subresource: a.Subresource}
	}
}
