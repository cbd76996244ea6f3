package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// doAs sends a request with extra headers and returns the code and the
// Status message, if any.
func (s *server) doAs(method, path, token, body string, headers map[string]string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, "https://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Add(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var st struct{ Message string }
	_ = json.Unmarshal(data, &st)
	return resp.StatusCode, st.Message
}

// expect checks a REST request's code and, when want is set, its message.
func (s *server) expect(method, path, token, body string, headers map[string]string, code int, want string) {
	s.t.Helper()
	got, msg := s.doAs(method, path, token, body, headers)
	if got != code || (want != "" && msg != want) {
		s.t.Errorf("%s %s: got %d %q, want %d %q", method, path, got, msg, code, want)
	}
}

// TestServiceAccountRBAC: a service account bound to a Role that allows
// get and list of pods in its namespace may do that, on both faces, and
// gets Kubernetes' 403 for secrets, other namespaces and creating
// namespaces.
func TestServiceAccountRBAC(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := s.client(s.adminToken)
	s.expect("POST", "/api/v1/namespaces", s.adminToken, `{"metadata":{"name":"team"}}`, nil, 201, "")
	s.expect("POST", "/api/v1/namespaces/team/serviceaccounts", s.adminToken, `{"metadata":{"name":"robot"}}`, nil, 201, "")
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles", s.adminToken,
		`{"metadata":{"name":"pod-reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}`, nil, 201, "")
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings", s.adminToken,
		`{"metadata":{"name":"robot-reads-pods"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"team"}]}`, nil, 201, "")
	tr, err := admin.CoreV1().ServiceAccounts("team").CreateToken(ctx, "robot", nil)
	if err != nil {
		t.Fatal(err)
	}
	token := tr.GetStatus().GetToken()
	const user = "system:serviceaccount:team:robot"

	// REST. The binding reaches the authorizer a moment after it is written.
	pollUntil(t, func() bool {
		code, _ := s.doAs("GET", "/api/v1/namespaces/team/pods", token, "", nil)
		return code == 200
	}, "robot lists pods in team")
	s.expect("GET", "/api/v1/namespaces/team/secrets", token, "", nil, 403,
		`secrets is forbidden: User "`+user+`" cannot list resource "secrets" in API group "" in the namespace "team"`)
	s.expect("GET", "/api/v1/namespaces/default/pods", token, "", nil, 403,
		`pods is forbidden: User "`+user+`" cannot list resource "pods" in API group "" in the namespace "default"`)
	s.expect("POST", "/api/v1/namespaces", token, `{"metadata":{"name":"mine"}}`, nil, 403,
		`namespaces is forbidden: User "`+user+`" cannot create resource "namespaces" in API group "" at the cluster scope`)
	s.expect("DELETE", "/api/v1/namespaces/team/pods/web", token, "", nil, 403,
		`pods "web" is forbidden: User "`+user+`" cannot delete resource "pods" in API group "" in the namespace "team"`)

	// gRPC: the same answers, as PermissionDenied carrying the Status.
	c := s.client(token)
	if _, err := c.CoreV1().Pods("team").List(ctx, client.ListOptions{}); err != nil {
		t.Errorf("gRPC list pods in team: %v", err)
	}
	for what, call := range map[string]func() error{
		`secrets is forbidden: User "` + user + `" cannot list resource "secrets" in API group "" in the namespace "team"`: func() error {
			_, err := c.CoreV1().Secrets("team").List(ctx, client.ListOptions{})
			return err
		},
		`pods is forbidden: User "` + user + `" cannot list resource "pods" in API group "" in the namespace "default"`: func() error {
			_, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{})
			return err
		},
		`namespaces is forbidden: User "` + user + `" cannot create resource "namespaces" in API group "" at the cluster scope`: func() error {
			_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "mine"}}, client.WriteOptions{})
			return err
		},
		`secrets is forbidden: User "` + user + `" cannot watch resource "secrets" in API group "" in the namespace "team"`: func() error {
			w, err := c.CoreV1().Secrets("team").Watch(ctx, client.ListOptions{})
			if err != nil {
				return err
			}
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Status != nil {
					return &client.StatusError{Status: ev.Status}
				}
			}
			return nil
		},
	} {
		err := call()
		if !client.IsForbidden(err) || err.Error() != what {
			t.Errorf("gRPC: got %v, want Forbidden %q", err, what)
		}
	}
	if _, err := s.client(token).CoreV1().Namespaces().Get(ctx, "team"); !client.IsForbidden(err) {
		t.Errorf("gRPC get namespace: got %v, want Forbidden", err)
	}
}

// TestEscalationImpersonationAnonymous: a user may grant through RBAC only
// what they hold or may bind; impersonation needs the impersonate verb;
// a request without credentials is system:anonymous, one with a bad token
// is refused.
func TestEscalationImpersonationAnonymous(t *testing.T) {
	const alice, bob = "alice-token", "bob-token"
	s := startServer(t, alice+",alice,uid-alice", bob+",bob,uid-bob")
	const rbacAPI = "/apis/rbac.authorization.k8s.io/v1"
	create := func(path, body string) { s.expect("POST", path, s.adminToken, body, nil, 201, "") }
	create("/api/v1/namespaces", `{"metadata":{"name":"team"}}`)
	create(rbacAPI+"/clusterroles", `{"metadata":{"name":"secret-reader"},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]}`)
	create(rbacAPI+"/namespaces/team/roles", `{"metadata":{"name":"lead"},"rules":[`+
		`{"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles","rolebindings"],"verbs":["create","update","get"]},`+
		`{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}`)
	create(rbacAPI+"/namespaces/team/rolebindings", `{"metadata":{"name":"alice-leads"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"lead"},"subjects":[{"kind":"User","name":"alice"}]}`)

	pollUntil(t, func() bool {
		code, _ := s.doAs("GET", rbacAPI+"/namespaces/team/rolebindings/none", alice, "", nil)
		return code == 404
	}, "alice leads team")
	const bindSecrets = `{"metadata":{"name":"bob-secrets"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"secret-reader"},"subjects":[{"kind":"User","name":"bob"}]}`
	s.expect("POST", rbacAPI+"/namespaces/team/rolebindings", alice, bindSecrets, nil, 403,
		`rolebindings.rbac.authorization.k8s.io "bob-secrets" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`+"\n"+
			`{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`)
	s.expect("POST", rbacAPI+"/namespaces/team/roles", alice, `{"metadata":{"name":"peek"},"rules":[{"apiGroups":[""],"resources":["secrets","pods"],"verbs":["get","watch"]}]}`, nil, 403,
		`roles.rbac.authorization.k8s.io "peek" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`+"\n"+
			`{APIGroups:[""], Resources:["pods"], Verbs:["watch"]}`+"\n"+`{APIGroups:[""], Resources:["secrets"], Verbs:["get" "watch"]}`)
	// What alice holds she may grant.
	s.expect("POST", rbacAPI+"/namespaces/team/roles", alice, `{"metadata":{"name":"viewer"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`, nil, 201, "")
	s.expect("POST", rbacAPI+"/namespaces/team/rolebindings", alice,
		`{"metadata":{"name":"bob-views"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"viewer"},"subjects":[{"kind":"User","name":"bob"}]}`, nil, 201, "")
	pollUntil(t, func() bool {
		code, _ := s.doAs("GET", "/api/v1/namespaces/team/pods/any", bob, "", nil)
		return code == 404
	}, "bob reads pods in team")
	// Allowed to bind secret-reader, she may bind it without holding it.
	create(rbacAPI+"/namespaces/team/roles", `{"metadata":{"name":"binder"},"rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["bind"],"resourceNames":["secret-reader"]}]}`)
	create(rbacAPI+"/namespaces/team/rolebindings", `{"metadata":{"name":"alice-binds"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"binder"},"subjects":[{"kind":"User","name":"alice"}]}`)
	pollUntil(t, func() bool {
		code, _ := s.doAs("POST", rbacAPI+"/namespaces/team/rolebindings?dryRun=All", alice, bindSecrets, nil)
		return code == 201
	}, "alice may bind secret-reader")
	s.expect("POST", rbacAPI+"/namespaces/team/rolebindings", alice, bindSecrets, nil, 201, "")
	pollUntil(t, func() bool {
		code, _ := s.doAs("GET", "/api/v1/namespaces/team/secrets/none", bob, "", nil)
		return code == 404
	}, "bob reads secrets in team")
	s.expect("GET", "/api/v1/namespaces/default/secrets/none", bob, "", nil, 403,
		`secrets "none" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "default"`)

	// Impersonation.
	s.expect("GET", "/api/v1/namespaces/team/pods", alice, "", map[string]string{"Impersonate-User": "bob"}, 403,
		`users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`)
	s.expect("GET", "/api/v1/namespaces/team/secrets/none", s.adminToken, "", map[string]string{"Impersonate-User": "bob"}, 404, "")
	s.expect("GET", "/api/v1/namespaces/default/secrets/none", s.adminToken, "", map[string]string{"Impersonate-User": "bob"}, 403,
		`secrets "none" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "default"`)
	s.expect("GET", "/api/v1/namespaces/team/pods", s.adminToken, "", map[string]string{"Impersonate-Group": "devs"}, 400, "")

	// Anonymous and bad credentials.
	s.expect("GET", "/api/v1/pods", "", "", nil, 403,
		`pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope`)
	s.expect("GET", "/healthz", "", "", nil, 200, "")
	s.expect("GET", "/version", "", "", nil, 200, "")
	s.expect("GET", "/metrics", "", "", nil, 403, `forbidden: User "system:anonymous" cannot get path "/metrics"`)
	s.expect("GET", "/api/v1/pods", "forged", "", nil, 401, "Unauthorized")
}

// pollUntil waits for cond, which the RBAC index reaches a moment after a
// write.
func pollUntil(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
