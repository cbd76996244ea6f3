package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/kjson"
)

// TestTokenReview: a TokenReview is answered by the apiserver's own token
// authenticators, for the audiences it names (the apiserver's when it
// names none), to whoever may create tokenreviews: the components, whose
// metrics ports delegate authentication, and system:auth-delegator's
// users; never stored.
func TestTokenReview(t *testing.T) {
	const alice, delegator = "alice-token", "delegator-token"
	s := startServer(t, alice+",alice,uid-alice,team", delegator+",webhook,uid-webhook")
	ctx := context.Background()
	admin := s.client(s.adminToken)
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", s.adminToken,
		`{"metadata":{"name":"webhook"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},"subjects":[{"kind":"User","name":"webhook"}]}`, nil, 201, "")
	sa, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "robot"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := func(audiences ...string) string {
		tr, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{
			Spec: &authenticationv1.TokenRequestSpec{Audiences: audiences}})
		if err != nil {
			t.Fatal(err)
		}
		return tr.GetStatus().GetToken()
	}
	robot, robotVault := token(), token("vault")
	const api = "https://kubernetes.default.svc.cluster.local"
	// A service account's user carries its token's id, as Kubernetes'.
	robotUser := func(token string) string {
		return `{"username":"system:serviceaccount:default:robot","uid":"` + sa.GetMetadata().GetUid() +
			`","groups":["system:serviceaccounts","system:serviceaccounts:default","system:authenticated"],` +
			`"extra":{"authentication.kubernetes.io/credential-id":["JTI=` + jti(t, token) + `"]}}`
	}
	pollUntil(t, func() bool {
		code, _ := s.doAs("POST", "/apis/authentication.k8s.io/v1/tokenreviews", delegator, review(alice), nil)
		return code == http.StatusCreated
	}, "the delegator may create tokenreviews")

	for _, tc := range []struct {
		name, token string
		audiences   []string
		want        string // the answer's status
	}{
		{"admin", s.adminToken, nil,
			`{"authenticated":true,"user":{"username":"skiff-admin","uid":"skiff-admin","groups":["system:masters","system:authenticated"]},"audiences":["` + api + `"]}`},
		{"static token", alice, nil,
			`{"authenticated":true,"user":{"username":"alice","uid":"uid-alice","groups":["team","system:authenticated"]},"audiences":["` + api + `"]}`},
		{"static token for the apiserver and another audience", alice, []string{"vault", api},
			`{"authenticated":true,"user":{"username":"alice","uid":"uid-alice","groups":["team","system:authenticated"]},"audiences":["` + api + `"]}`},
		{"static tokens are the apiserver's only", alice, []string{"vault"},
			`{"user":{},"error":"invalid bearer token"}`},
		{"service account", robot, nil, `{"authenticated":true,"user":` + robotUser(robot) + `,"audiences":["` + api + `"]}`},
		{"service account token for its audience", robotVault, []string{"vault", "other"},
			`{"authenticated":true,"user":` + robotUser(robotVault) + `,"audiences":["vault"]}`},
		{"service account token for another audience", robotVault, nil,
			`{"user":{},"error":"service account token: token audiences [\"vault\"] is invalid for the target audiences [\"` + api + `\"]"}`},
		{"garbage", "not-a-token", nil, `{"user":{},"error":"invalid bearer token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.do("POST", "/apis/authentication.k8s.io/v1/tokenreviews", delegator, review(tc.token, tc.audiences...))
			status, _ := json.Marshal(body["status"])
			if code != http.StatusCreated || string(status) != canonical(t, tc.want) || body["kind"] != "TokenReview" ||
				dig(body, "spec", "token") != tc.token {
				t.Errorf("got %d %v\nstatus %s\nwant   %s", code, body, status, canonical(t, tc.want))
			}
		})
	}

	s.expect("POST", "/apis/authentication.k8s.io/v1/tokenreviews", delegator, `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{}}`,
		nil, 400, "token is required for TokenReview in authentication")
	s.expect("POST", "/apis/authentication.k8s.io/v1/tokenreviews", alice, review(robot), nil, 403,
		`tokenreviews.authentication.k8s.io is forbidden: User "alice" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`)
	s.expect("POST", "/apis/authentication.k8s.io/v1/tokenreviews", "", review(robot), nil, 403,
		`tokenreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`)
	s.expect("GET", "/apis/authentication.k8s.io/v1/tokenreviews", s.adminToken, "", nil, 405, "")

	// The components ask on the gRPC face, with their own identities;
	// each may ask both reviews its metrics port needs.
	for _, component := range []string{"scheduler", "controller-manager", "cloud-controller", "proxy"} {
		c, err := client.NewFromKubeconfig(filepath.Join(s.dataDir, "kubeconfigs", component+".kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		out, err := c.Dynamic(client.GroupVersionResource{Group: "authentication.k8s.io", Version: "v1", Resource: "tokenreviews"}, "").
			Create(ctx, []byte(review(robot)), client.WriteOptions{})
		var tr authenticationv1.TokenReview
		if err == nil {
			err = kjson.Unmarshal(out, &tr)
		}
		if err != nil || !tr.GetStatus().GetAuthenticated() || tr.GetStatus().GetUser().GetUsername() != "system:serviceaccount:default:robot" {
			t.Errorf("%s: TokenReview on gRPC: %v %v", component, err, &tr)
		}
		sar := `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"alice","nonResourceAttributes":{"path":"/metrics","verb":"get"}}}`
		out, err = c.Dynamic(client.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"}, "").
			Create(ctx, []byte(sar), client.WriteOptions{})
		if err != nil || !json.Valid(out) {
			t.Errorf("%s: SubjectAccessReview on gRPC: %v %s", component, err, out)
		}
	}
}

// review is a TokenReview's JSON.
func review(token string, audiences ...string) string {
	spec := map[string]any{"token": token}
	if len(audiences) > 0 {
		spec["audiences"] = slices.Clone(audiences)
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
	return string(b)
}

// canonical is JSON as encoding/json writes a decoded value back.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// jti is a signed token's id claim.
func jti(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.ID == "" {
		t.Fatalf("token claims %s: no jti (%v)", payload, err)
	}
	return c.ID
}
