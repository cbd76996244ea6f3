package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/apiserver/internal/audit"
)

// auditPolicy: alice's configmaps at Request, her secrets not at all, the
// rest of what she and bob do at Metadata, nobody else's.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: [alice]
  resources: [{group: "", resources: [secrets]}]
- level: Request
  users: [alice]
  resources: [{group: "", resources: [configmaps]}]
- level: Metadata
  users: [alice, bob]
`

// auditedServer runs an apiserver writing the audit log of auditPolicy.
func auditedServer(t *testing.T, tokens ...string) (*server, string) {
	var logPath string
	s := startServerWith(t, func(o *Options) {
		o.Audit.PolicyFile = filepath.Join(o.DataDir, "audit-policy.yaml")
		if err := os.WriteFile(o.Audit.PolicyFile, []byte(auditPolicy), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath = filepath.Join(o.DataDir, "audit", "audit.log")
		o.Audit.Log.Path = logPath
	}, tokens...)
	return s, logPath
}

// send makes a REST request and returns its status code and Audit-ID.
func (s *server) send(method, path, token, body string, header ...string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, "https://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(audit.HeaderAuditID)
}

// auditEvents waits until the log holds the events of id that done
// accepts, and returns them.
func auditEvents(t *testing.T, path, id string, done func([]audit.Event) bool) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out []audit.Event
		data, _ := os.ReadFile(path)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var ev audit.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("audit log line %q: %v", sc.Text(), err)
			}
			if ev.AuditID == id {
				out = append(out, ev)
			}
		}
		if done(out) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventsOf waits for n events of requests to uri and returns those there
// are then.
func eventsOf(t *testing.T, path, uri string, n int) []audit.Event {
	t.Helper()
	var out []audit.Event
	for deadline := time.Now().Add(10 * time.Second); len(out) < n && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out = out[:0]
		data, _ := os.ReadFile(path)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var ev audit.Event
			if json.Unmarshal(line, &ev) == nil && ev.RequestURI == uri {
				out = append(out, ev)
			}
		}
	}
	return out
}

func stagesOf(events []audit.Event) []audit.Stage {
	var out []audit.Stage
	for _, ev := range events {
		out = append(out, ev.Stage)
	}
	return out
}

// atLeast waits for n events.
func atLeast(n int) func([]audit.Event) bool {
	return func(evs []audit.Event) bool { return len(evs) >= n }
}

// TestAuditLog: with a policy, each write by a named user appears once per
// stage in the audit log with the Audit-ID its response carried; a watch
// has ResponseStarted; a refused request is recorded with its 403; a None
// rule records nothing; Request level records the request's object and
// Metadata does not; gRPC calls are recorded as the same REST requests.
func TestAuditLog(t *testing.T) {
	s, logPath := auditedServer(t, "alice-token,alice,uid-alice,system:masters", "bob-token,bob,uid-bob")
	if fi, err := os.Stat(logPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit log: %v %v", fi, err)
	}
	complete := []audit.Stage{audit.StageRequestReceived, audit.StageResponseComplete}

	for _, tc := range []struct {
		method, path, body string
		code               int
		verb, name, holds  string
	}{
		{"POST", "/api/v1/namespaces/default/configmaps", `{"metadata":{"name":"cm1"},"data":{"k":"v1"}}`, 201, "create", "cm1", `"data":{"k":"v1"}`},
		{"PUT", "/api/v1/namespaces/default/configmaps/cm1", `{"metadata":{"name":"cm1"},"data":{"k":"v2"}}`, 200, "update", "cm1", `"data":{"k":"v2"}`},
		{"PATCH", "/api/v1/namespaces/default/configmaps/cm1", `{"data":{"k":"v3"}}`, 200, "patch", "cm1", `{"data":{"k":"v3"}}`},
		{"DELETE", "/api/v1/namespaces/default/configmaps/cm1", ``, 200, "delete", "cm1", ""},
	} {
		var header []string
		if tc.method == "PATCH" {
			header = []string{"Content-Type", "application/merge-patch+json"}
		}
		code, id := s.send(tc.method, tc.path, "alice-token", tc.body, header...)
		if code != tc.code || len(id) != 36 {
			t.Fatalf("%s %s: %d, Audit-ID %q", tc.method, tc.path, code, id)
		}
		events := auditEvents(t, logPath, id, atLeast(2))
		if !slices.Equal(stagesOf(events), complete) {
			t.Fatalf("%s: stages %v, want %v", tc.verb, stagesOf(events), complete)
		}
		for _, ev := range events {
			if ev.Level != audit.LevelRequest || ev.Verb != tc.verb || ev.User.Username != "alice" || ev.User.UID != "uid-alice" ||
				!slices.Contains(ev.User.Groups, "system:masters") || ev.ObjectRef == nil || ev.ObjectRef.Resource != "configmaps" ||
				ev.ObjectRef.Namespace != "default" || ev.RequestURI != tc.path || len(ev.SourceIPs) != 1 || ev.SourceIPs[0] != "127.0.0.1" {
				t.Errorf("%s event: %+v", tc.verb, ev)
			}
		}
		received, done := events[0], events[1]
		if received.ResponseStatus != nil || received.RequestObject != nil || !received.StageTimestamp.Equal(received.RequestReceivedTimestamp.Time) {
			t.Errorf("%s RequestReceived: %+v", tc.verb, received)
		}
		if done.ObjectRef.Name != tc.name || done.ResponseStatus == nil || done.ResponseStatus.Code != int32(tc.code) ||
			done.Annotations["authorization.k8s.io/decision"] != "allow" || done.ResponseObject != nil {
			t.Errorf("%s ResponseComplete: %+v %+v", tc.verb, done.ObjectRef, done)
		}
		if (tc.holds == "") != (done.RequestObject == nil) || !strings.Contains(string(done.RequestObject), tc.holds) {
			t.Errorf("%s requestObject %s, want it to hold %s", tc.verb, done.RequestObject, tc.holds)
		}
	}

	// The client's Audit-ID is kept.
	if code, id := s.send("GET", "/api/v1/namespaces/default/configmaps", "alice-token", "", "Audit-ID", "my-own-id"); code != 200 || id != "my-own-id" {
		t.Errorf("list with Audit-ID: %d %q", code, id)
	}
	if evs := auditEvents(t, logPath, "my-own-id", atLeast(2)); !slices.Equal(stagesOf(evs), complete) || evs[1].Verb != "list" {
		t.Errorf("list events %+v", evs)
	}

	// Metadata: no request object.
	code, id := s.send("POST", "/api/v1/namespaces/default/serviceaccounts", "alice-token", `{"metadata":{"name":"robot"}}`)
	evs := auditEvents(t, logPath, id, atLeast(2))
	if code != 201 || len(evs) != 2 || evs[1].Level != audit.LevelMetadata || evs[1].RequestObject != nil || evs[1].ObjectRef.Name != "robot" {
		t.Errorf("Metadata create: %d %+v", code, evs)
	}

	// None: nothing.
	code, none := s.send("POST", "/api/v1/namespaces/default/secrets", "alice-token", `{"metadata":{"name":"hush"}}`)
	if code != 201 || none == "" {
		t.Fatalf("create secret: %d %q", code, none)
	}

	// A watch starts its response.
	code, id = s.send("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1", "alice-token", "")
	want := []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete}
	if evs := auditEvents(t, logPath, id, atLeast(3)); code != 200 || !slices.Equal(stagesOf(evs), want) || evs[1].ResponseStatus.Code != 200 {
		t.Errorf("watch: %d %v", code, stagesOf(evs))
	}

	// Refused: recorded with the 403 and the authorizer's decision.
	code, id = s.send("GET", "/api/v1/namespaces/default/pods", "bob-token", "")
	evs = auditEvents(t, logPath, id, atLeast(2))
	if code != 403 || !slices.Equal(stagesOf(evs), complete) {
		t.Fatalf("refused list: %d %v", code, stagesOf(evs))
	}
	if st := evs[1].ResponseStatus; st == nil || st.Code != 403 || st.Reason != "Forbidden" || st.Status != "Failure" ||
		!strings.Contains(st.Message, `User "bob" cannot list resource "pods"`) || evs[1].Annotations["authorization.k8s.io/decision"] != "forbid" {
		t.Errorf("refused list: %+v %v", st, evs[1].Annotations)
	}
	// So is a refused impersonation, before authorization, with the real user.
	code, id = s.send("GET", "/api/v1/namespaces/default/pods", "bob-token", "", "Impersonate-User", "alice")
	if evs := auditEvents(t, logPath, id, atLeast(2)); code != 403 || len(evs) != 2 || evs[1].ResponseStatus.Code != 403 ||
		evs[1].User.Username != "bob" || evs[1].ImpersonatedUser != nil {
		t.Errorf("refused impersonation: %d %+v", code, evs)
	}
	// An allowed one names whom it acted as.
	code, id = s.send("GET", "/api/v1/namespaces/default/configmaps", "alice-token", "", "Impersonate-User", "carol")
	if evs := auditEvents(t, logPath, id, atLeast(2)); code != 403 || len(evs) != 2 || evs[1].User.Username != "alice" ||
		evs[1].ImpersonatedUser == nil || evs[1].ImpersonatedUser.Username != "carol" {
		t.Errorf("impersonation: %d %+v", code, evs)
	}

	// gRPC: recorded as the same requests on REST.
	ctx := context.Background()
	cm, err := s.client("alice-token").CoreV1().ConfigMaps("default").Create(ctx,
		&corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "over-grpc"}, Data: map[string]string{"k": "grpc"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	grpcEvents := eventsOf(t, logPath, "/skiff.core.v1.ConfigMapService/Create", 2)
	if !slices.Equal(stagesOf(grpcEvents), complete) || grpcEvents[0].AuditID != grpcEvents[1].AuditID {
		t.Fatalf("gRPC create: %v", stagesOf(grpcEvents))
	}
	done := grpcEvents[1]
	if done.Verb != "create" || done.Level != audit.LevelRequest || done.User.Username != "alice" || done.ObjectRef.Name != "over-grpc" ||
		done.ResponseStatus.Code != 201 || !strings.Contains(string(done.RequestObject), `"k":"grpc"`) || cm.GetMetadata().GetName() != "over-grpc" {
		t.Errorf("gRPC create event: %+v %+v %s", done, done.ObjectRef, done.RequestObject)
	}

	// A gRPC watch starts its response with its first event.
	w, err := s.client("alice-token").CoreV1().ConfigMaps("default").Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := s.send("POST", "/api/v1/namespaces/default/configmaps", "alice-token", `{"metadata":{"name":"cm2"}}`); code != 201 {
		t.Fatalf("create cm2: %d", code)
	}
	select {
	case <-w.ResultChan():
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	w.Stop()
	watchEvents := eventsOf(t, logPath, "/skiff.core.v1.ConfigMapService/Watch", 3)
	if !slices.Equal(stagesOf(watchEvents), want) || watchEvents[1].Verb != "watch" || watchEvents[1].ResponseStatus.Code != 200 {
		t.Errorf("gRPC watch: %v %+v", stagesOf(watchEvents), watchEvents)
	}
	// A refused call has its Kubernetes Status.
	if _, err := s.client("bob-token").CoreV1().Pods("default").List(ctx, client.ListOptions{}); err == nil {
		t.Fatal("bob listed pods")
	}
	refused := eventsOf(t, logPath, "/skiff.core.v1.PodService/List", 2)
	if !slices.Equal(stagesOf(refused), complete) || refused[1].ResponseStatus.Code != 403 || refused[1].ResponseStatus.Reason != "Forbidden" ||
		refused[1].User.Username != "bob" || refused[1].Annotations["authorization.k8s.io/decision"] != "forbid" {
		t.Errorf("refused gRPC list: %+v", refused)
	}

	// Nothing was recorded of the None request.
	if evs := auditEvents(t, logPath, none, func([]audit.Event) bool { return true }); len(evs) != 0 {
		t.Errorf("a None rule's request was recorded: %+v", evs)
	}
}
