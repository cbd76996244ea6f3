package audit

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// Sink takes encoded events (one audit.k8s.io/v1 Event as JSON each) and
// reports whether it accepted them.
type Sink interface {
	Process(event []byte) bool
}

// Auditor records requests as its policy says into its sink. A nil
// Auditor records nothing.
type Auditor struct {
	policy *Policy
	sink   Sink
	// describe is how authorization sees an HTTP request (the user is
	// filled in from the context).
	describe func(*http.Request) authorizer.Attributes
}

// New returns an Auditor; nil (auditing off) without a policy or a sink.
// describe tells a request's verb and resource, or its non-resource path,
// as authorization sees them.
func New(policy *Policy, sink Sink, describe func(*http.Request) authorizer.Attributes) *Auditor {
	if policy == nil || sink == nil {
		return nil
	}
	return &Auditor{policy: policy, sink: sink, describe: describe}
}

// WithAuditID gives every request its audit ID, the client's Audit-ID
// header or a new UUID, in its context and in the Audit-ID response
// header. It goes outside authentication, so a refused request's answer
// carries one too.
func WithAuditID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
		id := r.Header.Get(HeaderAuditID)
		if id == "" {
			id = uuid.NewString()
		}
		if w.Header().Get(HeaderAuditID) == "" {
			w.Header().Set(HeaderAuditID, id)
		}
		ctx, rec := withRequest(r.Context(), id)
		rec.received = received
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Handler records the requests it serves: it goes right inside
// authentication, outside impersonation and authorization, so the user
// is the authenticated one and refused requests are recorded too.
func (a *Auditor) Handler(next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := From(r.Context())
		u, authenticated := auth.UserFrom(r.Context())
		attrs := a.attributes(r, u, authenticated)
		if !a.start(rec, r, attrs, u, authenticated) {
			next.ServeHTTP(w, r)
			return
		}
		if !rec.Stage(StageRequestReceived) {
			writeInternalError(w, r, "failed to store audit event")
			return
		}
		long := LongRunning(attrs)
		rw := wrap(w, rec, long)
		defer func() {
			if p := recover(); p != nil {
				rec.setStatus(&ResponseStatus{Code: http.StatusInternalServerError, Status: "Failure", Reason: "InternalError",
					Message: fmt.Sprintf("APIServer panic'd: %v", p)})
				rec.Stage(StagePanic)
				panic(p)
			}
			finish(rec, long)
		}()
		next.ServeHTTP(rw, r)
	})
}

// finish records ResponseComplete; a request that wrote nothing is
// recorded as Kubernetes does, as a success whose connection closed early.
func finish(rec *Request, long bool) {
	if rec.responseStatus() == nil {
		rec.setStatus(&ResponseStatus{Code: http.StatusOK, Status: "Success", Message: "Connection closed early"})
		if long {
			rec.Stage(StageResponseStarted)
		}
	}
	rec.Stage(StageResponseComplete)
}

func writeInternalError(w http.ResponseWriter, _ *http.Request, msg string) {
	http.Error(w, "Internal error occurred: "+msg, http.StatusInternalServerError)
}

// FailedAuthentication wraps what answers a request whose credentials
// were refused: such a request is recorded at its ResponseStarted stage
// only, with no user, as Kubernetes records it.
func (a *Auditor) FailedAuthentication(writeError func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	if a == nil {
		return writeError
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		rec := From(r.Context())
		attrs := a.attributes(r, auth.User{}, false)
		if !a.start(rec, r, attrs, auth.User{}, false) {
			writeError(w, r, err)
			return
		}
		rec.setStatus(&ResponseStatus{Message: authMethods(r)})
		writeError(wrap(w, rec, true), r, err)
	}
}

// authMethods says which credentials a refused request offered.
func authMethods(r *http.Request) string {
	var methods []string
	if _, _, ok := r.BasicAuth(); ok {
		methods = append(methods, "basic")
	}
	if _, ok := auth.BearerToken(r.Header.Get("Authorization")); ok {
		methods = append(methods, "bearer")
	}
	if strings.TrimSpace(r.URL.Query().Get("access_token")) != "" {
		methods = append(methods, "access_token")
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		methods = append(methods, "x509")
	}
	if len(methods) == 0 {
		return "Authentication failed, no credentials provided"
	}
	return "Authentication failed, attempted: " + strings.Join(methods, ", ")
}

// attributes describe r as the policy matches it.
func (a *Auditor) attributes(r *http.Request, u auth.User, authenticated bool) authorizer.Attributes {
	attrs := a.describe(r)
	if authenticated {
		attrs.User, attrs.Groups, attrs.UID, attrs.Extra = u.Name, u.Groups, u.UID, u.Extra
	}
	return attrs
}

// start evaluates the policy for a request and starts its record.
func (a *Auditor) start(rec *Request, r *http.Request, attrs authorizer.Attributes, u auth.User, authenticated bool) bool {
	if rec == nil {
		return false
	}
	received := rec.received
	if received.IsZero() {
		received = time.Now()
	}
	return rec.start(a.policy.Evaluate(attrs), a.sink, received, func(ev *Event) {
		describe(ev, attrs, u, authenticated)
		ev.RequestURI = r.URL.RequestURI()
		ev.UserAgent = truncateUserAgent(r.UserAgent())
		ev.SourceIPs = SourceIPs(r)
	})
}

// maxUserAgent is the longest user agent recorded whole.
const maxUserAgent = 1024

func truncateUserAgent(ua string) string {
	if len(ua) > maxUserAgent {
		return ua[:maxUserAgent] + "...TRUNCATED"
	}
	return ua
}

// SourceIPs are the client's addresses as Kubernetes lists them: those of
// X-Forwarded-For, then X-Real-Ip, then the connection's remote address
// unless it is already last.
func SourceIPs(r *http.Request) []string {
	var ips []net.IP
	for part := range strings.SplitSeq(r.Header.Get("X-Forwarded-For"), ",") {
		if ip := net.ParseIP(strings.TrimSpace(part)); ip != nil {
			ips = append(ips, ip)
		}
	}
	if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-Ip"))); ip != nil && !slices.ContainsFunc(ips, ip.Equal) {
		ips = append(ips, ip)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if remote := net.ParseIP(host); remote != nil && (len(ips) == 0 || !ips[len(ips)-1].Equal(remote)) {
		ips = append(ips, remote)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// longRunningSubresources stream for as long as the client stays, as
// Kubernetes' long-running check lists them.
var longRunningSubresources = []string{"attach", "exec", "proxy", "log", "portforward"}

// LongRunning says a request streams its answer (watches, logs, exec,
// attach, port forwarding, proxying): its ResponseStarted stage is
// recorded when the answer starts.
func LongRunning(a authorizer.Attributes) bool {
	if !a.ResourceRequest {
		return false
	}
	sub, _, _ := strings.Cut(a.Subresource, "/")
	return a.Verb == "watch" || a.Verb == "proxy" || slices.Contains(longRunningSubresources, sub)
}

// wrap records the answer's status code when it is written, and for a
// long-running request the ResponseStarted stage then.
func wrap(w http.ResponseWriter, rec *Request, long bool) http.ResponseWriter {
	return &responseWriter{ResponseWriter: w, rec: rec, long: long}
}

type responseWriter struct {
	http.ResponseWriter
	rec  *Request
	long bool
	once sync.Once
}

func (w *responseWriter) started(code int) {
	w.once.Do(func() {
		w.rec.setCode(code)
		if w.long {
			w.rec.Stage(StageResponseStarted)
		}
	})
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.started(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.started(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written (a watch's events as they come).
func (w *responseWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (an upgraded exec or port forward),
// which answers 101.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.started(http.StatusSwitchingProtocols)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
