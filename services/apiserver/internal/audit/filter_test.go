package audit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// memory is a Sink that keeps the events.
type memory struct {
	mu     sync.Mutex
	events []string
}

func (m *memory) Process(ev []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, string(ev))
	return true
}

func (m *memory) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.events...)
}

// timestamps hides the times of an event for comparison.
var timestamps = regexp.MustCompile(`"(requestReceivedTimestamp|stageTimestamp)":"[^"]+"`)

func stable(ev string) string { return timestamps.ReplaceAllString(ev, `"$1":"T"`) }

// testDescribe reads /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]
// and other paths as non-resource requests.
func testDescribe(r *http.Request) authorizer.Attributes {
	verb := map[string]string{"GET": "get", "POST": "create", "PUT": "update", "DELETE": "delete", "PATCH": "patch"}[r.Method]
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(p) < 5 || p[0] != "api" {
		return authorizer.Attributes{Verb: strings.ToLower(r.Method), Path: r.URL.Path}
	}
	a := authorizer.ResourceRequest(verb, "", "v1", p[4], "", p[3], "")
	if len(p) > 5 {
		a.Name = p[5]
	}
	if len(p) > 6 {
		a.Subresource = p[6]
	}
	if r.URL.Query().Get("watch") == "true" {
		a.Verb = "watch"
	}
	return a
}

// chain is the apiserver's order: audit ID, authentication (as alice
// unless the request has no Authorization), the audit filter, handler.
func chain(a *Auditor, handler http.Handler) http.Handler {
	alice := auth.User{Name: "alice", UID: "uid-alice", Groups: []string{"dev", "system:authenticated"}, Extra: map[string][]string{"scopes": {"x"}}}
	authn := auth.Authenticator{Tokens: auth.Chain{}}
	inner := a.Handler(handler)
	return WithAuditID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			inner.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), alice)))
			return
		}
		authn.Middleware(inner, a.FailedAuthentication(func(w http.ResponseWriter, r *http.Request, err error) {
			LogResponseStatus(r.Context(), &metav1.Status{Status: "Failure", Message: "Unauthorized", Reason: "Unauthorized", Code: 401})
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		})).ServeHTTP(w, r)
	}))
}

func policyOf(t *testing.T, y string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\n" + y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditEventsOfACreate(t *testing.T) {
	sink := &memory{}
	a := New(policyOf(t, "rules: [{level: Request}]"), sink, testDescribe)
	h := chain(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pod := &corev1.Pod{ApiVersion: "v1", Kind: "Pod", Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"}}
		LogRequestObject(r.Context(), pod)
		out := proto.Clone(pod).(*corev1.Pod)
		out.Metadata.Uid, out.Metadata.ResourceVersion = "u1", "7"
		LogResponseObject(r.Context(), out, []byte(`{"kind":"Pod"}`))
		w.WriteHeader(http.StatusCreated)
	}))
	req := httptest.NewRequest("POST", "/api/v1/namespaces/default/pods?fieldManager=me", strings.NewReader("{}"))
	req.RemoteAddr = "192.0.2.1:5555"
	req.Header.Set("User-Agent", "kubectl/v1.34.0")
	req.Header.Set("X-Forwarded-For", "198.51.100.7, bogus, 203.0.113.9")
	req.Header.Set(HeaderAuditID, "the-id")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	if rr.Header().Get(HeaderAuditID) != "the-id" {
		t.Errorf("Audit-ID %q, want the client's", rr.Header().Get(HeaderAuditID))
	}
	events := sink.all()
	common := `"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"the-id",`
	who := `"requestURI":"/api/v1/namespaces/default/pods?fieldManager=me","verb":"create",` +
		`"user":{"username":"alice","uid":"uid-alice","groups":["dev","system:authenticated"],"extra":{"scopes":["x"]}},` +
		`"sourceIPs":["198.51.100.7","203.0.113.9","192.0.2.1"],"userAgent":"kubectl/v1.34.0",`
	want := []string{
		`{` + common + `"stage":"RequestReceived",` + who +
			`"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},` +
			`"requestReceivedTimestamp":"T","stageTimestamp":"T"}`,
		`{` + common + `"stage":"ResponseComplete",` + who +
			`"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"},` +
			`"responseStatus":{"metadata":{},"code":201},` +
			`"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default"}},` +
			`"requestReceivedTimestamp":"T","stageTimestamp":"T"}`,
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(want), strings.Join(events, "\n"))
	}
	for i := range want {
		if got := stable(events[i]); got != want[i] {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
	// RequestReceived is stamped when the request came; ResponseComplete later.
	var first, last Event
	_ = json.Unmarshal([]byte(events[0]), &first)
	_ = json.Unmarshal([]byte(events[1]), &last)
	if !first.StageTimestamp.Equal(first.RequestReceivedTimestamp.Time) || last.StageTimestamp.Before(first.StageTimestamp.Time) ||
		!last.RequestReceivedTimestamp.Equal(first.RequestReceivedTimestamp.Time) {
		t.Errorf("timestamps: %s / %s", events[0], events[1])
	}
	if !regexp.MustCompile(`"stageTimestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"`).MatchString(events[1]) {
		t.Errorf("stageTimestamp is not a MicroTime: %s", events[1])
	}
}

func TestAuditEventLevels(t *testing.T) {
	pod := &corev1.Pod{ApiVersion: "v1", Kind: "Pod", Metadata: &metav1.ObjectMeta{Name: "web",
		ManagedFields: []*metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LogRequestObject(r.Context(), pod)
		LogResponseObject(r.Context(), pod, nil)
		w.WriteHeader(http.StatusOK)
	})
	for _, tc := range []struct {
		policy           string
		request, respond string // what requestObject and responseObject hold, "" for absent
	}{
		{"rules: [{level: Metadata}]", "", ""},
		{"rules: [{level: Request}]", `"name":"web","managedFields"`, ""},
		{"rules: [{level: RequestResponse}]", `"managedFields"`, `"managedFields"`},
		{"omitManagedFields: true\nrules: [{level: RequestResponse}]", `"metadata":{"name":"web"}`, `"metadata":{"name":"web"}`},
		{"omitManagedFields: true\nrules: [{level: RequestResponse, omitManagedFields: false}]", `"managedFields"`, `"managedFields"`},
	} {
		sink := &memory{}
		chain(New(policyOf(t, tc.policy), sink, testDescribe), serve).ServeHTTP(httptest.NewRecorder(),
			httptest.NewRequest("PUT", "/api/v1/namespaces/default/pods/web", nil))
		events := sink.all()
		if len(events) != 2 {
			t.Fatalf("%s: %d events", tc.policy, len(events))
		}
		var ev Event
		if err := json.Unmarshal([]byte(events[1]), &ev); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			raw  json.RawMessage
			want string
		}{{"requestObject", ev.RequestObject, tc.request}, {"responseObject", ev.ResponseObject, tc.respond}} {
			if (tc.request == "" && c.name == "requestObject" || tc.respond == "" && c.name == "responseObject") != (c.raw == nil) ||
				!strings.Contains(string(c.raw), c.want) {
				t.Errorf("%s: %s %s, want %q", tc.policy, c.name, c.raw, c.want)
			}
		}
		if len(pod.Metadata.ManagedFields) != 1 {
			t.Fatal("omitting managed fields changed the object itself")
		}
	}
}

func TestAuditNoneAndOmittedStages(t *testing.T) {
	sink := &memory{}
	a := New(policyOf(t, `omitStages: [RequestReceived]
rules:
- {level: None, users: [alice], verbs: [get]}
- {level: Metadata}`), sink, testDescribe)
	h := chain(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/api/v1/namespaces/default/pods/web", nil))
	if len(sink.all()) != 0 {
		t.Errorf("a None rule recorded %v", sink.all())
	}
	if len(rr.Header().Get(HeaderAuditID)) != 36 {
		t.Errorf("a request recorded at None still gets a new Audit-ID: %q", rr.Header().Get(HeaderAuditID))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/api/v1/namespaces/default/pods/web", nil))
	if ev := sink.all(); len(ev) != 1 || !strings.Contains(ev[0], `"stage":"ResponseComplete"`) || !strings.Contains(ev[0], `"code":200`) {
		t.Errorf("omitted RequestReceived: %v", ev)
	}
}

func TestAuditLongRunningAndErrors(t *testing.T) {
	sink := &memory{}
	a := New(policyOf(t, "rules: [{level: Metadata}]"), sink, testDescribe)
	started := make(chan struct{})
	h := chain(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("watch") == "true":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			close(started)
			_, _ = w.Write([]byte(`{"type":"ADDED"}`))
		case r.URL.Path == "/api/v1/namespaces/default/pods/web/log":
			// Long-running, but closed before anything was written.
		case r.URL.Path == "/panic":
			panic(errors.New("boom"))
		default:
			LogResponseStatus(r.Context(), &metav1.Status{Status: "Failure", Reason: "Forbidden", Code: 403,
				Message: `pods "web" is forbidden: User "alice" cannot get resource "pods"`, Details: &metav1.StatusDetails{Name: "web", Kind: "pods"}})
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	stages := func(path string) (out []string) {
		sink.mu.Lock()
		sink.events = nil
		sink.mu.Unlock()
		func() {
			defer func() { _ = recover() }()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		}()
		for _, ev := range sink.all() {
			var e Event
			_ = json.Unmarshal([]byte(ev), &e)
			out = append(out, string(e.Stage)+" "+string(mustJSON(e.ResponseStatus)))
		}
		return out
	}
	if got := strings.Join(stages("/api/v1/namespaces/default/pods?watch=true"), "\n"); got !=
		"RequestReceived null\nResponseStarted {\"metadata\":{},\"code\":200}\nResponseComplete {\"metadata\":{},\"code\":200}" {
		t.Errorf("watch:\n%s", got)
	}
	<-started
	if got := strings.Join(stages("/api/v1/namespaces/default/pods/web/log"), "\n"); got !=
		"RequestReceived null\nResponseStarted {\"metadata\":{},\"status\":\"Success\",\"message\":\"Connection closed early\",\"code\":200}\n"+
			"ResponseComplete {\"metadata\":{},\"status\":\"Success\",\"message\":\"Connection closed early\",\"code\":200}" {
		t.Errorf("log closed early:\n%s", got)
	}
	if got := strings.Join(stages("/api/v1/namespaces/default/pods/web"), "\n"); got !=
		"RequestReceived null\nResponseComplete {\"metadata\":{},\"status\":\"Failure\",\"message\":\"pods \\\"web\\\" is forbidden: User \\\"alice\\\" cannot get resource \\\"pods\\\"\",\"reason\":\"Forbidden\",\"details\":{\"name\":\"web\",\"kind\":\"pods\"},\"code\":403}" {
		t.Errorf("forbidden:\n%s", got)
	}
	if got := strings.Join(stages("/panic"), "\n"); got !=
		"RequestReceived null\nPanic {\"metadata\":{},\"status\":\"Failure\",\"message\":\"APIServer panic'd: boom\",\"reason\":\"InternalError\",\"code\":500}" {
		t.Errorf("panic:\n%s", got)
	}
}

func TestAuditFailedAuthentication(t *testing.T) {
	sink := &memory{}
	a := New(policyOf(t, "rules: [{level: None, users: [alice]}, {level: Metadata}]"), sink, testDescribe)
	h := chain(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("served an unauthenticated request") }))
	req := httptest.NewRequest("GET", "/api/v1/namespaces/default/pods", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	events := sink.all()
	if rr.Code != 401 || rr.Header().Get(HeaderAuditID) == "" || len(events) != 1 {
		t.Fatalf("%d %v %v", rr.Code, rr.Header(), events)
	}
	if !strings.Contains(events[0], `"stage":"ResponseStarted"`) || !strings.Contains(events[0], `"user":{}`) ||
		!strings.Contains(events[0], `"code":401`) || !strings.Contains(events[0], `"auditID":"`+rr.Header().Get(HeaderAuditID)+`"`) {
		t.Errorf("refused credentials: %s", events[0])
	}
}

func TestAuditImpersonatedUserAndAnnotations(t *testing.T) {
	sink := &memory{}
	a := New(policyOf(t, "rules: [{level: Metadata}]"), sink, testDescribe)
	az := a.Authorizer(authorizer.Func(func(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "b/default" of Role "r" to User "bob"`, nil
	}))
	h := chain(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LogImpersonatedUser(r.Context(), auth.User{Name: "bob", Groups: []string{"system:authenticated"}})
		ctx := auth.WithUser(r.Context(), auth.User{Name: "bob"})
		if err := authorizer.Check(ctx, az, authorizer.ResourceRequest("get", "", "v1", "pods", "", "default", "web")); err != nil {
			t.Error(err)
		}
		_ = authorizer.Check(ctx, az, authorizer.ResourceRequest("create", "", "v1", "pods", "exec", "default", "web"))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/namespaces/default/pods/web", nil))
	events := sink.all()
	want := `"impersonatedUser":{"username":"bob","groups":["system:authenticated"]}`
	annotations := `"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"b/default\" of Role \"r\" to User \"bob\""}`
	if len(events) != 2 || strings.Contains(events[0], "impersonatedUser") || !strings.Contains(events[1], want) ||
		!strings.Contains(events[1], `"user":{"username":"alice"`) || !strings.Contains(events[1], annotations) {
		t.Errorf("events:\n%s", strings.Join(events, "\n"))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestAuditMicroTime(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
	b, _ := json.Marshal(NewMicroTime(at))
	if string(b) != `"2025-03-04T04:06:07.123456Z"` {
		t.Errorf("MicroTime %s", b)
	}
	var back MicroTime
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("read back %v %v", back, err)
	}
}
