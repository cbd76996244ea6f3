package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
)

// objects is an in-memory Objects.
type objects struct {
	mu      sync.Mutex
	sas     map[string]*corev1.ServiceAccount
	pods    map[string]*corev1.Pod
	secrets map[string]*corev1.Secret
	nodes   map[string]*corev1.Node
}

func newObjects() *objects {
	return &objects{sas: map[string]*corev1.ServiceAccount{}, pods: map[string]*corev1.Pod{}, secrets: map[string]*corev1.Secret{},
		nodes: map[string]*corev1.Node{}}
}

func lookup[T proto.Message](o *objects, m map[string]T, plural, ns, name string) (T, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := m[ns+"/"+name]
	if !ok {
		var zero T
		return zero, apierrors.NewNotFound(apierrors.Resource{Resource: plural}, name)
	}
	return v, nil
}

func (o *objects) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	return lookup(o, o.sas, "serviceaccounts", ns, name)
}

func (o *objects) Pod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	return lookup(o, o.pods, "pods", ns, name)
}

func (o *objects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	return lookup(o, o.secrets, "secrets", ns, name)
}

func (o *objects) Node(_ context.Context, name string) (*corev1.Node, error) {
	return lookup(o, o.nodes, "nodes", "", name)
}

func meta(ns, name, uid string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Namespace: ns, Name: name, Uid: uid}
}

func (o *objects) addSA(ns, name, uid string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sas[ns+"/"+name] = &corev1.ServiceAccount{Metadata: meta(ns, name, uid)}
}

func (o *objects) addPod(ns, name, uid, sa string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pods[ns+"/"+name] = &corev1.Pod{Metadata: meta(ns, name, uid), Spec: &corev1.PodSpec{ServiceAccountName: proto.String(sa)}}
}

func (o *objects) remove(kind, ns, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch kind {
	case "sa":
		delete(o.sas, ns+"/"+name)
	case "pod":
		delete(o.pods, ns+"/"+name)
	}
}

const testIssuer = "https://kubernetes.default.svc.cluster.local"

// fixture is a TokenRequests and an Authenticator over the same key,
// objects and clock.
type fixture struct {
	objs *objects
	now  time.Time
	reqs *TokenRequests
	auth *Authenticator
	cfg  Config
}

func newFixture(t *testing.T, edit ...func(*Config)) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{objs: newObjects(), now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.objs.addSA("default", "default", "sa-uid")
	f.objs.addPod("default", "web", "pod-uid", "default")
	f.objs.pods["default/web"].Spec.NodeName = proto.String("node-1")
	f.objs.nodes["/node-1"] = &corev1.Node{Metadata: meta("", "node-1", "node-uid")}
	f.objs.secrets["default/creds"] = &corev1.Secret{Metadata: meta("default", "creds", "secret-uid")}
	f.cfg = Config{
		Issuers: []string{testIssuer}, APIAudiences: []string{testIssuer}, SigningKey: key,
		ExtendExpiration: true, Objects: f.objs, Now: func() time.Time { return f.now },
	}
	for _, e := range edit {
		e(&f.cfg)
	}
	if f.reqs, err = NewTokenRequests(f.cfg); err != nil {
		t.Fatal(err)
	}
	if f.auth, err = NewAuthenticator(f.cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) token(t *testing.T, spec *authenticationv1.TokenRequestSpec) string {
	t.Helper()
	out, err := f.reqs.Create(context.Background(), "default", "default", &authenticationv1.TokenRequest{Spec: spec})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return out.GetStatus().GetToken()
}

func claimsOf(t *testing.T, token string) Claims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", token)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func podBound(exp int64, audiences ...string) *authenticationv1.TokenRequestSpec {
	return &authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: proto.Int64(exp),
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", ApiVersion: "v1", Name: "web", Uid: "pod-uid"}}
}

func TestTokenAuthenticatesAsTheServiceAccount(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, podBound(3600))
	u, ok, err := f.auth.AuthenticateToken(context.Background(), tok)
	if !ok || err != nil {
		t.Fatalf("got ok %v, err %v; want the token accepted", ok, err)
	}
	if u.Name != "system:serviceaccount:default:default" || u.UID != "sa-uid" ||
		strings.Join(u.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:default" {
		t.Errorf("got user %+v", u)
	}
	c := claimsOf(t, tok)
	if c.Issuer != testIssuer || c.Subject != u.Name || len(c.Audience) != 1 || c.Audience[0] != testIssuer || c.ID == "" {
		t.Errorf("claims %+v", c)
	}
	if int64(c.Expiry)-int64(c.IssuedAt) != 3600 || c.NotBefore != c.IssuedAt || int64(c.IssuedAt) != f.now.Unix() {
		t.Errorf("lifetime: iat %d nbf %d exp %d", c.IssuedAt, c.NotBefore, c.Expiry)
	}
	p := c.Kubernetes
	if p == nil || p.Namespace != "default" || p.ServiceAccount != (Ref{"default", "sa-uid"}) || p.Pod == nil || *p.Pod != (Ref{"web", "pod-uid"}) ||
		p.Node == nil || *p.Node != (Ref{"node-1", "node-uid"}) {
		t.Errorf("kubernetes.io claim %+v", p)
	}
	want := map[string][]string{
		"authentication.kubernetes.io/pod-name": {"web"}, "authentication.kubernetes.io/pod-uid": {"pod-uid"},
		"authentication.kubernetes.io/node-name": {"node-1"}, "authentication.kubernetes.io/node-uid": {"node-uid"},
		"authentication.kubernetes.io/credential-id": {"JTI=" + c.ID},
	}
	if fmt.Sprint(u.Extra) != fmt.Sprint(want) {
		t.Errorf("extra %v, want %v", u.Extra, want)
	}
}

func TestTokenExtraWithoutBindingOrNode(t *testing.T) {
	f := newFixture(t)
	// Unbound: the token's id only.
	tok := f.token(t, &authenticationv1.TokenRequestSpec{ExpirationSeconds: proto.Int64(3600)})
	u, ok, err := f.auth.AuthenticateToken(context.Background(), tok)
	if !ok || err != nil {
		t.Fatalf("unbound token: ok %v, err %v", ok, err)
	}
	if want := fmt.Sprint(map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=" + claimsOf(t, tok).ID}}); fmt.Sprint(u.Extra) != want {
		t.Errorf("unbound token's extra %v, want %s", u.Extra, want)
	}
	// A pod on a node that is gone: the node's name without a uid.
	delete(f.objs.nodes, "/node-1")
	tok = f.token(t, podBound(3600))
	if u, ok, err = f.auth.AuthenticateToken(context.Background(), tok); !ok || err != nil {
		t.Fatalf("pod-bound token: ok %v, err %v", ok, err)
	}
	if n := u.Extra["authentication.kubernetes.io/node-name"]; len(n) != 1 || n[0] != "node-1" {
		t.Errorf("node-name %v, want [node-1]", n)
	}
	if n, ok := u.Extra["authentication.kubernetes.io/node-uid"]; ok {
		t.Errorf("node-uid %v for a node that was not found", n)
	}
}

func TestTokensThatMustNotAuthenticate(t *testing.T) {
	for _, tc := range []struct {
		name string
		// spec of the token; nil is an unbound default one
		spec *authenticationv1.TokenRequestSpec
		// then changes the world between issuing and using the token
		then func(f *fixture)
		// mine says the authenticator claims the token (and refuses it)
		mine bool
	}{
		{name: "expired", spec: &authenticationv1.TokenRequestSpec{ExpirationSeconds: proto.Int64(600)},
			then: func(f *fixture) { f.now = f.now.Add(600*time.Second + leeway + time.Second) }, mine: true},
		{name: "not valid yet", then: func(f *fixture) { f.now = f.now.Add(-leeway - time.Second) }, mine: true},
		{name: "wrong audience", spec: &authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}, mine: true},
		{name: "service account deleted", then: func(f *fixture) { f.objs.remove("sa", "default", "default") }, mine: true},
		{name: "service account recreated", then: func(f *fixture) { f.objs.addSA("default", "default", "new-uid") }, mine: true},
		{name: "service account deleted a while ago", then: func(f *fixture) {
			f.objs.sas["default/default"].Metadata.DeletionTimestamp = timestampAt(f.now.Add(-2 * leeway))
		}, mine: true},
		{name: "bound pod deleted", spec: podBound(3600), then: func(f *fixture) { f.objs.remove("pod", "default", "web") }, mine: true},
		{name: "bound pod recreated", spec: podBound(3600), then: func(f *fixture) { f.objs.addPod("default", "web", "other", "default") }, mine: true},
		{name: "other issuer", then: func(f *fixture) {
			f.cfg.Issuers = []string{"https://elsewhere"}
			f.auth, _ = NewAuthenticator(f.cfg)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, tc.spec)
			if tc.then != nil {
				tc.then(f)
			}
			u, ok, err := f.auth.AuthenticateToken(context.Background(), tok)
			if ok {
				t.Fatalf("got user %+v, want the token refused", u)
			}
			if (err != nil) != tc.mine {
				t.Fatalf("got error %v, want one: %v", err, tc.mine)
			}
		})
	}
}

func TestSignaturesAreChecked(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, nil)
	other := newFixture(t)
	forged := other.token(t, nil) // same claims shape, another key
	parts := strings.Split(tok, ".")
	c := claimsOf(t, tok)
	c.Subject = "system:serviceaccount:kube-system:admin"
	payload, _ := json.Marshal(c)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	for name, token := range map[string]string{"other key": forged, "tampered claims": tampered, "alg none": none} {
		if u, ok, err := f.auth.AuthenticateToken(context.Background(), token); ok || err == nil {
			t.Errorf("%s: got %+v %v %v, want refused with an error", name, u, ok, err)
		}
	}
	if _, ok, err := f.auth.AuthenticateToken(context.Background(), "0123456789abcdef"); ok || err != nil {
		t.Errorf("a static token: got ok %v err %v, want it left to others", ok, err)
	}
	// Rotation: a server that signs with a new key still accepts tokens of
	// the old one it is told to verify with.
	rotated := newFixture(t, func(c *Config) { c.VerifyKeys = []crypto.PublicKey{f.cfg.SigningKey.Public()} })
	rotated.objs = f.objs
	rotated.cfg.Objects = f.objs
	a, err := NewAuthenticator(rotated.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.AuthenticateToken(context.Background(), tok); !ok {
		t.Errorf("old key in --service-account-key-file: refused: %v", err)
	}
}

func TestRSAKeysSignRS256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.SigningKey = key })
	tok := f.token(t, nil)
	var h header
	data, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err := json.Unmarshal(data, &h); err != nil || h.Alg != "RS256" {
		t.Fatalf("header %s: %v", data, err)
	}
	if _, ok, err := f.auth.AuthenticateToken(context.Background(), tok); !ok {
		t.Fatalf("RS256 token refused: %v", err)
	}
}

func TestExtendedKubeletTokens(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxExpiration = 2 * time.Hour })
	out, err := f.reqs.Create(context.Background(), "default", "default", &authenticationv1.TokenRequest{Spec: podBound(KubeletExpirationSeconds)})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, out.GetStatus().GetToken())
	if got := int64(c.Expiry) - int64(c.IssuedAt); got != extendedExpirationSeconds {
		t.Errorf("extended lifetime: got %d s, want a year", got)
	}
	if got := int64(c.Kubernetes.WarnAfter) - int64(c.IssuedAt); got != KubeletExpirationSeconds {
		t.Errorf("warnafter: got %d s after iat, want %d", got, KubeletExpirationSeconds)
	}
	if got := out.GetStatus().GetExpirationTimestamp().AsTime(); !got.Equal(f.now.Add(KubeletExpirationSeconds * time.Second)) {
		t.Errorf("status.expirationTimestamp %v, want the requested lifetime", got)
	}
	// Not for another audience, and the cap applies to what was asked.
	out, err = f.reqs.Create(context.Background(), "default", "default", &authenticationv1.TokenRequest{Spec: podBound(5*3600, "vault")})
	if err != nil {
		t.Fatal(err)
	}
	c = claimsOf(t, out.GetStatus().GetToken())
	if got := int64(c.Expiry) - int64(c.IssuedAt); got != 7200 || out.GetSpec().GetExpirationSeconds() != 7200 || c.Kubernetes.WarnAfter != 0 {
		t.Errorf("capped token: lifetime %d, spec %d, warnafter %d; want 7200, 7200, none", got, out.GetSpec().GetExpirationSeconds(), c.Kubernetes.WarnAfter)
	}
}

func TestTokenRequestDefaultsAndErrors(t *testing.T) {
	f := newFixture(t)
	out, err := f.reqs.Create(context.Background(), "default", "default", &authenticationv1.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSpec().GetExpirationSeconds() != 3600 || strings.Join(out.GetSpec().GetAudiences(), ",") != testIssuer ||
		out.GetMetadata().GetName() != "default" || out.GetMetadata().GetNamespace() != "default" ||
		out.GetKind() != "TokenRequest" || out.GetApiVersion() != "authentication.k8s.io/v1" {
		t.Errorf("defaulted answer %v", out)
	}
	ref := func(kind, name, uid string) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: &authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: kind, Name: name, Uid: uid}}}
	}
	f.objs.addPod("default", "other-sa", "p2", "builder")
	for _, tc := range []struct {
		name    string
		account string
		req     *authenticationv1.TokenRequest
		code    int32
		field   string
	}{
		{"too short", "default", &authenticationv1.TokenRequest{Spec: &authenticationv1.TokenRequestSpec{ExpirationSeconds: proto.Int64(599)}}, 422, "spec.expirationSeconds"},
		{"too long", "default", &authenticationv1.TokenRequest{Spec: &authenticationv1.TokenRequestSpec{ExpirationSeconds: proto.Int64(1<<32 + 1)}}, 422, "spec.expirationSeconds"},
		{"other name in the body", "default", &authenticationv1.TokenRequest{Metadata: &metav1.ObjectMeta{Name: "x"}}, 422, "metadata.name"},
		{"bound object without a name", "default", ref("Pod", "", ""), 422, "spec.boundObjectRef.name"},
		{"unknown service account", "nobody", &authenticationv1.TokenRequest{}, 404, ""},
		{"missing pod", "default", ref("Pod", "gone", ""), 404, ""},
		{"pod uid mismatch", "default", ref("Pod", "web", "stale"), 409, ""},
		{"missing secret", "default", ref("Secret", "gone", ""), 404, ""},
		{"pod of another account", "default", ref("Pod", "other-sa", ""), 400, ""},
		{"unsupported kind", "default", ref("Node", "n1", ""), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.reqs.Create(context.Background(), "default", tc.account, tc.req)
			st := apierrors.ToStatus(err)
			if err == nil || st.GetCode() != tc.code {
				t.Fatalf("got %v (code %d), want code %d", err, st.GetCode(), tc.code)
			}
			if tc.field != "" {
				causes := st.GetDetails().GetCauses()
				if len(causes) != 1 || causes[0].GetField() != tc.field {
					t.Fatalf("got causes %v, want one for %s", causes, tc.field)
				}
			}
		})
	}
	// A secret-bound token names the secret.
	out, err = f.reqs.Create(context.Background(), "default", "default", ref("Secret", "creds", "secret-uid"))
	if err != nil {
		t.Fatal(err)
	}
	if s := claimsOf(t, out.GetStatus().GetToken()).Kubernetes.Secret; s == nil || *s != (Ref{"creds", "secret-uid"}) {
		t.Errorf("secret claim %v", s)
	}
}

func timestampAt(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
