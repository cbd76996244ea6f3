package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

// namespaces is a namespaces backend that answers Get from a map.
type namespaces struct {
	registry.Backend
	labels map[string]map[string]string
	reads  int
}

func (n *namespaces) Get(_ context.Context, _, name string, _ registry.GetOptions) (proto.Message, error) {
	n.reads++
	l, ok := n.labels[name]
	if !ok {
		return nil, apierrors.NewNotFound(apierrors.Resource{Resource: "namespaces"}, name)
	}
	return &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name, Labels: l}}, nil
}

var (
	configMaps = &registry.Resource{Version: "v1", Plural: "configmaps", Kind: "ConfigMap", Namespaced: true,
		New: func() proto.Message { return &corev1.ConfigMap{} }}
	namespacesRes = &registry.Resource{Version: "v1", Plural: "namespaces", Kind: "Namespace",
		New: func() proto.Message { return &corev1.Namespace{} }}
	pods = &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true, HasStatus: true,
		New: func() proto.Message { return &corev1.Pod{} }}
	webhookConfigs = &registry.Resource{Group: "admissionregistration.k8s.io", Version: "v1", Plural: "validatingwebhookconfigurations",
		Kind: "ValidatingWebhookConfiguration", New: func() proto.Message { return &admissionregistrationv1.ValidatingWebhookConfiguration{} }}
)

func configMap(ns, name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func rule(ops []string, groups, versions, resources []string, scope string) *admissionregistrationv1.RuleWithOperations {
	return &admissionregistrationv1.RuleWithOperations{Operations: ops,
		Rule: &admissionregistrationv1.Rule{ApiGroups: groups, ApiVersions: versions, Resources: resources, Scope: proto.String(scope)}}
}

var allConfigMaps = rule([]string{"*"}, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule *admissionregistrationv1.RuleWithOperations
		w    *registry.Write
		want bool
	}{
		{"exact", allConfigMaps, &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, true},
		{"another operation", rule([]string{"UPDATE", "DELETE"}, []string{""}, []string{"v1"}, []string{"configmaps"}, "*"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, false},
		{"another group", rule([]string{"*"}, []string{"apps"}, []string{"v1"}, []string{"configmaps"}, "*"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, false},
		{"another version", rule([]string{"*"}, []string{""}, []string{"v2"}, []string{"configmaps"}, "*"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, false},
		{"wildcards", rule([]string{"*"}, []string{"*"}, []string{"*"}, []string{"*"}, "*"),
			&registry.Write{Operation: registry.OpDelete, Resource: configMaps, Namespace: "a"}, true},
		{"the object is not a subresource", allConfigMaps,
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a", Subresource: "status"}, false},
		{"a subresource", rule([]string{"UPDATE"}, []string{""}, []string{"v1"}, []string{"pods/status"}, "*"),
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a", Subresource: "status"}, true},
		{"any subresource", rule([]string{"UPDATE"}, []string{""}, []string{"v1"}, []string{"pods/*"}, "*"),
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a", Subresource: "status"}, true},
		{"any subresource includes the object", rule([]string{"UPDATE"}, []string{""}, []string{"v1"}, []string{"pods/*"}, "*"),
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a"}, true},
		{"every resource's status", rule([]string{"UPDATE"}, []string{""}, []string{"v1"}, []string{"*/status"}, "*"),
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a", Subresource: "status"}, true},
		{"* is no subresource", rule([]string{"UPDATE"}, []string{""}, []string{"v1"}, []string{"*"}, "*"),
			&registry.Write{Operation: registry.OpUpdate, Resource: pods, Namespace: "a", Subresource: "status"}, false},
		{"namespaced scope", rule([]string{"*"}, []string{""}, []string{"v1"}, []string{"*"}, "Namespaced"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, true},
		{"cluster scope", rule([]string{"*"}, []string{""}, []string{"v1"}, []string{"*"}, "Cluster"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a"}, false},
		{"a namespace is cluster-scoped", rule([]string{"*"}, []string{""}, []string{"v1"}, []string{"*"}, "Cluster"),
			&registry.Write{Operation: registry.OpDelete, Resource: namespacesRes, Name: "a"}, true},
		{"a namespace is not namespaced", rule([]string{"*"}, []string{""}, []string{"v1"}, []string{"*"}, "Namespaced"),
			&registry.Write{Operation: registry.OpDelete, Resource: namespacesRes, Name: "a"}, false},
	} {
		h := newHook("c", 0, hookSpec{name: "h.example.com", rules: []*admissionregistrationv1.RuleWithOperations{tc.rule}})
		a := newAttributes(context.Background(), tc.w)
		if got := matchesRules(h, a, a.version); got != tc.want {
			t.Errorf("%s: matches %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEquivalentVersions(t *testing.T) {
	widgets := &registry.Resource{Group: "example.com", Version: "v2", Plural: "widgets", Kind: "Widget", Namespaced: true}
	x := New(Config{Versions: func(group, resource string) []string { return []string{"v1", "v2"} }})
	spec := hookSpec{name: "h.example.com", matchPolicy: "Equivalent",
		rules: []*admissionregistrationv1.RuleWithOperations{rule([]string{"*"}, []string{"example.com"}, []string{"v1"}, []string{"widgets"}, "*")}}
	a := newAttributes(context.Background(), &registry.Write{Operation: registry.OpCreate, Resource: widgets, Namespace: "a"})
	inv, err := x.matches(context.Background(), newHook("c", 0, spec), a)
	if err != nil || inv == nil || inv.version != "v1" {
		t.Fatalf("Equivalent: got %+v, %v; want v1", inv, err)
	}
	spec.matchPolicy = "Exact"
	if inv, err := x.matches(context.Background(), newHook("c", 0, spec), a); inv != nil || err != nil {
		t.Fatalf("Exact: got %+v, %v; want no match", inv, err)
	}
}

func selectorOf(labels map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labels}
}

func TestSelectors(t *testing.T) {
	ns := &namespaces{labels: map[string]map[string]string{"team-a": {"team": "a"}, "team-b": {"team": "b"}}}
	x := New(Config{Namespaces: ns})
	ctx := context.Background()
	hookWith := func(nsSel, objSel *metav1.LabelSelector, resource string) *hook {
		return newHook("c", 0, hookSpec{name: "h.example.com", namespaceSelector: nsSel, objectSelector: objSel,
			rules: []*admissionregistrationv1.RuleWithOperations{rule([]string{"*"}, []string{""}, []string{"v1"}, []string{resource}, "*")}})
	}
	for _, tc := range []struct {
		name   string
		h      *hook
		w      *registry.Write
		want   bool
		reason string
	}{
		{"namespace labels match", hookWith(selectorOf(map[string]string{"team": "a"}), nil, "configmaps"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "team-a", Object: configMap("team-a", "x", nil)}, true, ""},
		{"namespace labels differ", hookWith(selectorOf(map[string]string{"team": "a"}), nil, "configmaps"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "team-b", Object: configMap("team-b", "x", nil)}, false, ""},
		{"a missing namespace", hookWith(selectorOf(map[string]string{"team": "a"}), nil, "configmaps"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "gone", Object: configMap("gone", "x", nil)}, false, "NotFound"},
		{"a namespace by its own new labels", hookWith(selectorOf(map[string]string{"team": "c"}), nil, "namespaces"),
			&registry.Write{Operation: registry.OpCreate, Resource: namespacesRes, Name: "team-c",
				Object: &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-c", Labels: map[string]string{"team": "c"}}}}, true, ""},
		{"a deleted namespace by its stored labels", hookWith(selectorOf(map[string]string{"team": "a"}), nil, "namespaces"),
			&registry.Write{Operation: registry.OpDelete, Resource: namespacesRes, Name: "team-a",
				Old: &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-a"}}}, true, ""},
		{"the new object's labels", hookWith(nil, selectorOf(map[string]string{"app": "x"}), "configmaps"),
			&registry.Write{Operation: registry.OpUpdate, Resource: configMaps, Namespace: "team-a",
				Object: configMap("team-a", "x", map[string]string{"app": "x"}), Old: configMap("team-a", "x", nil)}, true, ""},
		{"the old object's labels", hookWith(nil, selectorOf(map[string]string{"app": "x"}), "configmaps"),
			&registry.Write{Operation: registry.OpUpdate, Resource: configMaps, Namespace: "team-a",
				Object: configMap("team-a", "x", nil), Old: configMap("team-a", "x", map[string]string{"app": "x"})}, true, ""},
		{"neither object's labels", hookWith(nil, selectorOf(map[string]string{"app": "x"}), "configmaps"),
			&registry.Write{Operation: registry.OpDelete, Resource: configMaps, Namespace: "team-a", Old: configMap("team-a", "x", nil)}, false, ""},
		{"a bad selector fails a matching write", hookWith(&metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "Nope"}}}, nil, "configmaps"),
			&registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "team-a", Object: configMap("team-a", "x", nil)}, false, "InternalError"},
	} {
		inv, err := x.matches(ctx, tc.h, newAttributes(ctx, tc.w))
		if (inv != nil) != tc.want || apierrors.ReasonOf(err) != tc.reason {
			t.Errorf("%s: got %v, %v; want match %v, reason %q", tc.name, inv != nil, err, tc.want, tc.reason)
		}
	}
	// The namespace is read once for all the webhooks of a write.
	ns.reads = 0
	a := newAttributes(ctx, &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "team-a", Object: configMap("team-a", "x", nil)})
	for range 3 {
		_, _ = x.matches(ctx, hookWith(selectorOf(map[string]string{"team": "a"}), nil, "configmaps"), a)
	}
	if ns.reads != 1 {
		t.Errorf("read the namespace %d times, want once", ns.reads)
	}
}

// server is a webhook over TLS that answers with respond; reviews are
// the requests it got.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	reviews []map[string]any
	ca      []byte
}

// testCA issues serving certificates, as a webhook's own CA would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(name string) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a serving certificate for DNS names and IP addresses.
func (ca *testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// defaultCA signs the test servers' certificates for 127.0.0.1.
var defaultCA = sync.OnceValue(func() *testCA { return newCA("webhook test CA") })

func newServer(t *testing.T, respond func(req map[string]any) map[string]any) *server {
	return newServerWith(t, defaultCA(), []string{"127.0.0.1"}, respond)
}

func newServerWith(t *testing.T, ca *testCA, names []string, respond func(req map[string]any) map[string]any) *server {
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review map[string]any
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := review["request"].(map[string]any)
		req["timeoutParam"] = r.URL.Query().Get("timeout")
		req["path"] = r.URL.Path
		s.mu.Lock()
		s.reviews = append(s.reviews, req)
		s.mu.Unlock()
		resp := respond(req)
		if _, ok := resp["uid"]; !ok {
			resp["uid"] = req["uid"]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, names...)}, MinVersion: tls.VersionTLS12}
	s.StartTLS()
	t.Cleanup(s.Close)
	s.ca = ca.pem
	return s
}

func (s *server) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reviews)
}

func allow(map[string]any) map[string]any { return map[string]any{"allowed": true} }

func (s *server) clientConfig(path string) *admissionregistrationv1.WebhookClientConfig {
	return &admissionregistrationv1.WebhookClientConfig{Url: proto.String(s.URL + path), CaBundle: s.ca}
}

func validatingConfig(name string, hooks ...*admissionregistrationv1.ValidatingWebhook) *admissionregistrationv1.ValidatingWebhookConfiguration {
	for _, h := range hooks {
		if h.Rules == nil {
			h.Rules = []*admissionregistrationv1.RuleWithOperations{allConfigMaps}
		}
		if h.SideEffects == nil {
			h.SideEffects = proto.String("None")
		}
		if h.AdmissionReviewVersions == nil {
			h.AdmissionReviewVersions = []string{"v1"}
		}
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{Metadata: &metav1.ObjectMeta{Name: name}, Webhooks: hooks}
}

func mutatingConfig(name string, hooks ...*admissionregistrationv1.MutatingWebhook) *admissionregistrationv1.MutatingWebhookConfiguration {
	for _, h := range hooks {
		if h.Rules == nil {
			h.Rules = []*admissionregistrationv1.RuleWithOperations{allConfigMaps}
		}
		if h.SideEffects == nil {
			h.SideEffects = proto.String("None")
		}
		if h.AdmissionReviewVersions == nil {
			h.AdmissionReviewVersions = []string{"v1"}
		}
	}
	return &admissionregistrationv1.MutatingWebhookConfiguration{Metadata: &metav1.ObjectMeta{Name: name}, Webhooks: hooks}
}

func alice(ctx context.Context) context.Context {
	return auth.WithUser(ctx, auth.User{Name: "alice", UID: "u-1", Groups: []string{"devs", "system:authenticated"}})
}

func TestValidatingWebhookRequestAndRefusal(t *testing.T) {
	srv := newServer(t, func(req map[string]any) map[string]any {
		if req["name"] == "bad" {
			return map[string]any{"allowed": false, "status": map[string]any{"message": "bad is a bad name", "code": 403, "reason": "Forbidden"},
				"warnings": []string{"think again"}}
		}
		name := req["object"].(map[string]any)["metadata"].(map[string]any)["name"]
		return map[string]any{"allowed": true, "warnings": []string{fmt.Sprint("looked at ", name)}}
	})
	x := New(Config{})
	x.setValidating(validatingConfig("names", &admissionregistrationv1.ValidatingWebhook{
		Name: "names.example.com", ClientConfig: srv.clientConfig("/names"), TimeoutSeconds: proto.Int32(5)}))
	ctx, rec := warning.NewContext(alice(context.Background()))

	w := &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "good",
		Object: configMap("a", "good", map[string]string{"k": "v"}), FieldManager: "kubectl"}
	if err := x.validate(ctx, w); err != nil {
		t.Fatal(err)
	}
	req := srv.requests()[0]
	for k, want := range map[string]any{
		"kind":         map[string]any{"group": "", "version": "v1", "kind": "ConfigMap"},
		"resource":     map[string]any{"group": "", "version": "v1", "resource": "configmaps"},
		"requestKind":  map[string]any{"group": "", "version": "v1", "kind": "ConfigMap"},
		"name":         "good",
		"namespace":    "a",
		"operation":    "CREATE",
		"dryRun":       false,
		"oldObject":    nil,
		"userInfo":     map[string]any{"username": "alice", "uid": "u-1", "groups": []any{"devs", "system:authenticated"}},
		"options":      map[string]any{"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl"},
		"object":       map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": "good", "namespace": "a", "labels": map[string]any{"k": "v"}}},
		"timeoutParam": "5s",
		"path":         "/names",
	} {
		if got := req[k]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("request %s = %v, want %v", k, got, want)
		}
	}
	if req["uid"] == "" {
		t.Error("the request has no uid")
	}

	// A generated name is no name yet.
	gen := configMap("a", "good-x7k2q", nil)
	gen.Metadata.GenerateName = "good-"
	if err := x.validate(ctx, &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "good-", Object: gen}); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[1]["name"]; got != nil {
		t.Errorf("a generated name's request names %v", got)
	}

	w.Name, w.Object = "bad", configMap("a", "bad", nil)
	err := x.validate(ctx, w)
	st := apierrors.ToStatus(err)
	if st.GetMessage() != `admission webhook "names.example.com" denied the request: bad is a bad name` || st.GetCode() != 403 || st.GetReason() != "Forbidden" {
		t.Errorf("refusal: %v", st)
	}
	if got := rec.Warnings(); !slices.Equal(got, []string{"looked at good", "looked at good-x7k2q", "think again"}) {
		t.Errorf("warnings %q", got)
	}

	// A refusal without a status still says who refused.
	srv2 := newServer(t, func(map[string]any) map[string]any { return map[string]any{"allowed": false} })
	x.setValidating(validatingConfig("silent", &admissionregistrationv1.ValidatingWebhook{Name: "silent.example.com", ClientConfig: srv2.clientConfig("")}))
	w.Name, w.Object = "good", configMap("a", "good", nil)
	if err := x.validate(ctx, w); apierrors.ToStatus(err).GetMessage() != `admission webhook "silent.example.com" denied the request without explanation` ||
		apierrors.ToStatus(err).GetCode() != 400 {
		t.Errorf("refusal without status: %v", apierrors.ToStatus(err))
	}
}

// A delete sends the stored object as oldObject and the delete options.
func TestDeleteRequest(t *testing.T) {
	srv := newServer(t, allow)
	x := New(Config{})
	x.setValidating(validatingConfig("c", &admissionregistrationv1.ValidatingWebhook{Name: "h.example.com", ClientConfig: srv.clientConfig("")}))
	grace := int64(0)
	w := &registry.Write{Operation: registry.OpDelete, Resource: configMaps, Namespace: "a", Name: "x", Old: configMap("a", "x", nil),
		DryRun: true, DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: &grace, DryRun: []string{"All"}}}
	if err := x.validate(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	req := srv.requests()[0]
	if req["object"] != nil || req["oldObject"].(map[string]any)["metadata"].(map[string]any)["name"] != "x" || req["dryRun"] != true ||
		fmt.Sprint(req["options"]) != fmt.Sprint(map[string]any{"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "gracePeriodSeconds": 0, "dryRun": []any{"All"}}) {
		t.Errorf("delete request %v", req)
	}
}

// The webhook configurations themselves are never sent to webhooks.
func TestConfigurationsAreExempt(t *testing.T) {
	srv := newServer(t, func(map[string]any) map[string]any { return map[string]any{"allowed": false} })
	x := New(Config{})
	x.setValidating(validatingConfig("c", &admissionregistrationv1.ValidatingWebhook{Name: "h.example.com", ClientConfig: srv.clientConfig(""),
		Rules: []*admissionregistrationv1.RuleWithOperations{rule([]string{"*"}, []string{"*"}, []string{"*"}, []string{"*"}, "*")}}))
	w := &registry.Write{Operation: registry.OpDelete, Resource: webhookConfigs, Name: "c", Old: validatingConfig("c")}
	if err := x.validate(context.Background(), w); err != nil || len(srv.requests()) != 0 {
		t.Errorf("got %v after %d calls, want no call", err, len(srv.requests()))
	}
}

func addLabel(key, value string) func(map[string]any) map[string]any {
	return func(req map[string]any) map[string]any {
		meta := req["object"].(map[string]any)["metadata"].(map[string]any)
		var patch []map[string]any
		if _, ok := meta["labels"]; !ok {
			patch = append(patch, map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]any{}})
		} else if meta["labels"].(map[string]any)[key] == value {
			return map[string]any{"allowed": true}
		}
		patch = append(patch, map[string]any{"op": "add", "path": "/metadata/labels/" + key, "value": value})
		data, _ := json.Marshal(patch)
		return map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": data}
	}
}

func TestMutatingPatchAndReinvocation(t *testing.T) {
	first := newServer(t, addLabel("first", "yes"))
	second := newServer(t, addLabel("second", "yes"))
	x := New(Config{})
	// Configurations run by name: "a" before "b". The first webhook is
	// asked again after the second changed the object.
	x.setMutating(mutatingConfig("b", &admissionregistrationv1.MutatingWebhook{Name: "second.example.com", ClientConfig: second.clientConfig("")}))
	x.setMutating(mutatingConfig("a", &admissionregistrationv1.MutatingWebhook{Name: "first.example.com", ClientConfig: first.clientConfig(""),
		ReinvocationPolicy: proto.String("IfNeeded")}))
	w := &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil)}
	if err := x.admit(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	got := w.Object.(*corev1.ConfigMap).GetMetadata().GetLabels()
	if got["first"] != "yes" || got["second"] != "yes" {
		t.Errorf("labels %v", got)
	}
	if n := len(first.requests()); n != 2 {
		t.Errorf("the IfNeeded webhook was called %d times, want twice", n)
	}
	if n := len(second.requests()); n != 1 {
		t.Errorf("the Never webhook was called %d times, want once", n)
	}
	// The second call saw what the second webhook made.
	if labels := first.requests()[1]["object"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any); labels["second"] != "yes" {
		t.Errorf("the reinvocation saw %v", labels)
	}

	// Nothing changed after it: asked once.
	x.setMutating(mutatingConfig("b"))
	w = &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "y", Object: configMap("a", "y", nil)}
	if err := x.admit(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if n := len(first.requests()); n != 3 {
		t.Errorf("the IfNeeded webhook was called %d times in all, want 3", n)
	}
}

func TestPatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		respond func(map[string]any) map[string]any
		op      registry.Operation
		want    string
	}{
		{"a patch that does not apply", func(map[string]any) map[string]any {
			return map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": []byte(`[{"op":"remove","path":"/nope"}]`)}
		}, registry.OpCreate, `Internal error occurred: error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value`},
		{"a patch on a delete", func(map[string]any) map[string]any {
			return map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": []byte(`[{"op":"add","path":"/a","value":1}]`)}
		}, registry.OpDelete, `Internal error occurred: admission webhook "h.example.com" attempted to modify the object, which is not supported for this operation`},
		{"a patch without its type", func(map[string]any) map[string]any {
			return map[string]any{"allowed": true, "patch": []byte(`[]`)}
		}, registry.OpCreate, `Internal error occurred: failed calling webhook "h.example.com": received invalid webhook response: webhook returned response.patch but not response.patchType`},
		{"another patch type", func(map[string]any) map[string]any {
			return map[string]any{"allowed": true, "patchType": "MergePatch", "patch": []byte(`[{"op":"add","path":"/a","value":1}]`)}
		}, registry.OpCreate, `Internal error occurred: failed calling webhook "h.example.com": unsupported patch type "MergePatch"`},
		{"another uid", func(map[string]any) map[string]any {
			return map[string]any{"allowed": true, "uid": "other"}
		}, registry.OpCreate, `failed calling webhook "h.example.com": received invalid webhook response: expected response.uid=`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.respond)
			x := New(Config{})
			x.setMutating(mutatingConfig("c", &admissionregistrationv1.MutatingWebhook{Name: "h.example.com", ClientConfig: srv.clientConfig("")}))
			w := &registry.Write{Operation: tc.op, Resource: configMaps, Namespace: "a", Name: "x", Old: configMap("a", "x", nil)}
			if tc.op != registry.OpDelete {
				w.Object = configMap("a", "x", nil)
			}
			err := x.admit(context.Background(), w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// hang is a webhook that answers only when the test ends.
func hang(t *testing.T) *server {
	release := make(chan struct{})
	s := newServer(t, func(map[string]any) map[string]any {
		<-release
		return map[string]any{"allowed": true}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for it
	return s
}

func TestFailurePolicy(t *testing.T) {
	slow := hang(t)
	denying := newServer(t, func(map[string]any) map[string]any { return map[string]any{"allowed": false} })
	otherCA := newCA("another CA")
	for _, tc := range []struct {
		name string
		cc   *admissionregistrationv1.WebhookClientConfig
		// timeout is in seconds, 0 for the default.
		timeout int32
		want    string // under Fail; Ignore lets the write through
	}{
		{"a webhook that times out", slow.clientConfig("/slow"), 1,
			`Internal error occurred: failed calling webhook "h.example.com": failed to call webhook: Post "` + slow.URL + `/slow?timeout=1s": context deadline exceeded`},
		{"a CA bundle that is no PEM", &admissionregistrationv1.WebhookClientConfig{Url: proto.String(denying.URL), CaBundle: []byte("not PEM")}, 0,
			`Internal error occurred: failed calling webhook "h.example.com": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block`},
		{"another CA", &admissionregistrationv1.WebhookClientConfig{Url: proto.String(denying.URL), CaBundle: otherCA.pem}, 0,
			`Internal error occurred: failed calling webhook "h.example.com": failed to call webhook: Post "` + denying.URL + `?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`},
		{"nobody listening", &admissionregistrationv1.WebhookClientConfig{Url: proto.String("https://127.0.0.1:1"), CaBundle: denying.ca}, 0,
			`Internal error occurred: failed calling webhook "h.example.com": failed to call webhook: Post "https://127.0.0.1:1?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused`},
	} {
		for _, policy := range []string{"Fail", "Ignore"} {
			t.Run(tc.name+" "+policy, func(t *testing.T) {
				h := &admissionregistrationv1.ValidatingWebhook{Name: "h.example.com", ClientConfig: tc.cc, FailurePolicy: proto.String(policy)}
				if tc.timeout > 0 {
					h.TimeoutSeconds = proto.Int32(tc.timeout)
				}
				x := New(Config{})
				x.setValidating(validatingConfig("c", h))
				w := &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil)}
				err := x.validate(context.Background(), w)
				if policy == "Ignore" {
					if err != nil {
						t.Errorf("failing open: %v", err)
					}
					return
				}
				if st := apierrors.ToStatus(err); st.GetMessage() != tc.want || st.GetCode() != 500 {
					t.Errorf("failing closed: got %d %q\nwant 500 %q", st.GetCode(), st.GetMessage(), tc.want)
				}
			})
		}
	}
}

// A dry run goes only to webhooks without side effects; one with side
// effects refuses it whatever its failure policy.
func TestDryRun(t *testing.T) {
	srv := newServer(t, allow)
	for _, effects := range []string{"None", "NoneOnDryRun", "Some", "Unknown"} {
		x := New(Config{})
		x.setMutating(mutatingConfig("c", &admissionregistrationv1.MutatingWebhook{Name: "h.example.com", ClientConfig: srv.clientConfig(""),
			SideEffects: proto.String(effects), FailurePolicy: proto.String("Ignore")}))
		w := &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil), DryRun: true}
		err := x.admit(context.Background(), w)
		switch effects {
		case "None", "NoneOnDryRun":
			if err != nil {
				t.Errorf("%s: %v", effects, err)
			}
		default:
			if st := apierrors.ToStatus(err); st.GetCode() != 400 || st.GetMessage() != `admission webhook "h.example.com" does not support dry run` {
				t.Errorf("%s: got %v", effects, st)
			}
		}
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestMatchConditions(t *testing.T) {
	srv := newServer(t, func(map[string]any) map[string]any { return map[string]any{"allowed": false} })
	conds := func(exprs ...string) []*admissionregistrationv1.MatchCondition {
		var out []*admissionregistrationv1.MatchCondition
		for i, e := range exprs {
			out = append(out, &admissionregistrationv1.MatchCondition{Name: fmt.Sprintf("c%d", i), Expression: e})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		conds  []*admissionregistrationv1.MatchCondition
		policy string
		want   string // "" lets the write through
	}{
		{"all true", conds(`object.metadata.name == "x"`, `request.userInfo.username == "alice"`), "Fail", `admission webhook "h.example.com" denied the request without explanation`},
		{"one false", conds(`object.metadata.name == "x"`, `request.operation == "DELETE"`), "Fail", ""},
		{"an error under Fail", conds(`object.metadata.labels.nope == "x"`), "Fail", `configmaps "x" is forbidden: expression 'c0' resulted in error: no such key: labels`},
		{"an error under Ignore", conds(`object.metadata.labels.nope == "x"`), "Ignore", ""},
	} {
		x := New(Config{})
		x.setValidating(validatingConfig("c", &admissionregistrationv1.ValidatingWebhook{Name: "h.example.com", ClientConfig: srv.clientConfig(""),
			MatchConditions: tc.conds, FailurePolicy: proto.String(tc.policy)}))
		w := &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil)}
		err := x.validate(alice(context.Background()), w)
		if got := apierrors.ToStatus(err).GetMessage(); (err == nil) != (tc.want == "") || err != nil && got != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Validating webhooks are asked together: a slow one does not hold up
// the others, and the refusal reported is the first in order.
func TestValidatingInParallel(t *testing.T) {
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	var once sync.Once
	waiting := func(map[string]any) map[string]any {
		started <- struct{}{}
		<-release
		return map[string]any{"allowed": false, "status": map[string]any{"message": "no"}}
	}
	a, b := newServer(t, waiting), newServer(t, waiting)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	x := New(Config{})
	x.setValidating(validatingConfig("c",
		&admissionregistrationv1.ValidatingWebhook{Name: "a.example.com", ClientConfig: a.clientConfig("")},
		&admissionregistrationv1.ValidatingWebhook{Name: "b.example.com", ClientConfig: b.clientConfig("")}))
	done := make(chan error, 1)
	go func() {
		done <- x.validate(context.Background(), &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil)})
	}()
	<-started
	<-started // both are being asked at once
	once.Do(func() { close(release) })
	if err := <-done; err == nil || err.Error() != `admission webhook "a.example.com" denied the request: no` {
		t.Errorf("got %v", err)
	}
}

// A webhook given by a service is asked at the endpoint the resolver
// gives, under the service's DNS name, which its certificate must name.
func TestServiceReference(t *testing.T) {
	ca := newCA("service CA")
	for _, tc := range []struct{ certName, want string }{
		{"h.hooks.svc", ""},
		{"other.hooks.svc", `Internal error occurred: failed calling webhook "h.example.com": failed to call webhook: Post "https://h.hooks.svc:8443/check?timeout=10s": tls: failed to verify certificate: x509: certificate is valid for other.hooks.svc, not h.hooks.svc`},
	} {
		srv := newServerWith(t, ca, []string{tc.certName}, allow)
		x := New(Config{Services: resolverFunc(func(_ context.Context, ns, name string, port int32) (string, error) {
			if ns != "hooks" || name != "h" || port != 8443 {
				return "", fmt.Errorf("resolved %s/%s:%d", ns, name, port)
			}
			return srv.Listener.Addr().String(), nil
		})})
		x.setValidating(validatingConfig("c", &admissionregistrationv1.ValidatingWebhook{Name: "h.example.com",
			ClientConfig: &admissionregistrationv1.WebhookClientConfig{CaBundle: ca.pem, Service: &admissionregistrationv1.ServiceReference{
				Namespace: "hooks", Name: "h", Port: proto.Int32(8443), Path: proto.String("/check")}}}))
		err := x.validate(context.Background(), &registry.Write{Operation: registry.OpCreate, Resource: configMaps, Namespace: "a", Name: "x", Object: configMap("a", "x", nil)})
		if (err == nil) != (tc.want == "") || err != nil && err.Error() != tc.want {
			t.Errorf("%s: got %v\nwant %s", tc.certName, err, tc.want)
		}
		if tc.want == "" && (len(srv.requests()) != 1 || srv.requests()[0]["path"] != "/check") {
			t.Errorf("%s: requests %v", tc.certName, srv.requests())
		}
	}
}

type resolverFunc func(ctx context.Context, ns, name string, port int32) (string, error)

func (f resolverFunc) ResolveEndpoint(ctx context.Context, ns, name string, port int32) (string, error) {
	return f(ctx, ns, name, port)
}
