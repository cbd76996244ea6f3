package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webhookCA is the CA of the test's webhooks: their caBundle.
type webhookCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newWebhookCA(t *testing.T, name string) *webhookCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &webhookCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// serve starts an HTTPS webhook whose certificate names 127.0.0.1 and
// dnsNames; decide answers each AdmissionReview request.
func (ca *webhookCA) serve(t *testing.T, decide func(req map[string]any) map[string]any, dnsNames ...string) *httptest.Server {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: dnsNames,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Request map[string]any `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := decide(review.Request)
		resp["uid"] = review.Request["uid"]
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// named returns the AdmissionReview request's object name.
func named(req map[string]any) string {
	obj, _ := req["object"].(map[string]any)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

// webhookJSON is one webhook of a configuration: its objectSelector keeps
// it to the objects of one part of the test (label webhook-test=<phase>).
func webhookJSON(name, phase, clientConfig, extra string) string {
	return fmt.Sprintf(`{"name":%q,"clientConfig":%s,"sideEffects":"None","admissionReviewVersions":["v1"],
		"objectSelector":{"matchLabels":{"webhook-test":%q}},
		"rules":[{"operations":["CREATE"],"apiGroups":["","stable.example.com"],"apiVersions":["v1"],"resources":["configmaps","widgets"]}]%s}`,
		name, clientConfig, phase, extra)
}

func urlConfig(srv *httptest.Server, path, caBundle string) string {
	return fmt.Sprintf(`{"url":%q,"caBundle":%q}`, srv.URL+path, base64.StdEncoding.EncodeToString([]byte(caBundle)))
}

// TestAdmissionWebhooks: webhooks served over HTTPS by the test, trusted
// through their caBundle: a validating one refuses with its message, a
// mutating one adds a label with a JSON patch (to custom resources too), a
// webhook that times out or cannot be trusted refuses the write under
// failurePolicy Fail and lets it through under Ignore, and a webhook given
// by a Service is reached at the Service's endpoint under its DNS name.
func TestAdmissionWebhooks(t *testing.T) {
	s := startServer(t)
	ca := newWebhookCA(t, "webhook CA")
	admin := s.adminToken
	const ns = "webhooks"
	s.expect("POST", "/api/v1/namespaces", admin, `{"metadata":{"name":"`+ns+`"}}`, nil, 201, "")

	marker := func(req map[string]any) map[string]any {
		if named(req) == "marked" {
			return map[string]any{"allowed": false, "status": map[string]any{"message": "marked objects are refused"}}
		}
		return map[string]any{"allowed": true}
	}
	deny := ca.serve(t, func(req map[string]any) map[string]any {
		warnings := []string{"looked at by deny.skiff.test"}
		if strings.HasPrefix(named(req), "forbidden") {
			return map[string]any{"allowed": false, "warnings": warnings,
				"status": map[string]any{"code": 403, "reason": "Forbidden", "message": "names starting with forbidden are not allowed"}}
		}
		return map[string]any{"allowed": true, "warnings": warnings}
	})
	label := ca.serve(t, func(req map[string]any) map[string]any {
		patch := `[{"op":"add","path":"/metadata/labels/mutated","value":"yes"}]`
		return map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": base64.StdEncoding.EncodeToString([]byte(patch))}
	})
	release := make(chan struct{})
	slow := ca.serve(t, func(req map[string]any) map[string]any {
		<-release // until the test ends
		return map[string]any{"allowed": true}
	})
	t.Cleanup(func() { close(release) }) // before the servers close, which waits for their handlers
	marking := ca.serve(t, marker)
	service := ca.serve(t, func(req map[string]any) map[string]any {
		return map[string]any{"allowed": false, "status": map[string]any{"message": "refused through the service"}}
	}, "hook.webhooks.svc")

	configMap := func(name, phase string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q,"labels":{"webhook-test":%q}}}`, name, phase)
	}
	create := "/api/v1/namespaces/" + ns + "/configmaps"
	// until waits for a configuration to be in use: a dry run of body
	// answers code with message.
	until := func(path, body string, code int, message string) {
		t.Helper()
		pollUntil(t, func() bool {
			got, msg := s.doAs("POST", path+"?dryRun=All", admin, body, nil)
			return got == code && msg == message
		}, fmt.Sprintf("a dry run answers %d %q", code, message))
	}

	const validating = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
	const mutating = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
	s.expect("POST", validating, admin, `{"metadata":{"name":"deny"},"webhooks":[`+
		webhookJSON("deny.skiff.test", "deny", urlConfig(deny, "/validate", ca.pem), "")+`]}`, nil, 201, "")
	s.expect("POST", mutating, admin, `{"metadata":{"name":"label"},"webhooks":[`+
		webhookJSON("label.skiff.test", "label", urlConfig(label, "/mutate", ca.pem), "")+`]}`, nil, 201, "")
	s.expect("POST", validating, admin, `{"metadata":{"name":"slow-fail"},"webhooks":[`+
		webhookJSON("slow-fail.skiff.test", "slow-fail", urlConfig(slow, "/slow", ca.pem), `,"timeoutSeconds":1,"failurePolicy":"Fail"`)+`]}`, nil, 201, "")
	// The Ignore webhooks share a configuration with one that refuses
	// objects named "marked", which tells when it is in use.
	s.expect("POST", validating, admin, `{"metadata":{"name":"slow-ignore"},"webhooks":[`+
		webhookJSON("slow-ignore.skiff.test", "slow-ignore", urlConfig(slow, "/slow", ca.pem), `,"timeoutSeconds":1,"failurePolicy":"Ignore"`)+`,`+
		webhookJSON("marker.skiff.test", "slow-ignore", urlConfig(marking, "", ca.pem), "")+`]}`, nil, 201, "")
	s.expect("POST", validating, admin, `{"metadata":{"name":"bad-ca"},"webhooks":[`+
		webhookJSON("bad-ca-fail.skiff.test", "bad-ca-fail", urlConfig(deny, "", "not a certificate"), `,"failurePolicy":"Fail"`)+`,`+
		webhookJSON("bad-ca-ignore.skiff.test", "bad-ca-ignore", urlConfig(deny, "", "not a certificate"), `,"failurePolicy":"Ignore"`)+`,`+
		webhookJSON("marker.skiff.test", "bad-ca-ignore", urlConfig(marking, "", ca.pem), "")+`,`+
		webhookJSON("other-ca.skiff.test", "other-ca", urlConfig(deny, "", newWebhookCA(t, "another CA").pem), "")+`]}`, nil, 201, "")

	t.Run("a validating webhook refuses with its message", func(t *testing.T) {
		want := `admission webhook "deny.skiff.test" denied the request: names starting with forbidden are not allowed`
		until(create, configMap("forbidden", "deny"), 403, want)
		s.expect("POST", create, admin, configMap("forbidden-too", "deny"), nil, 403, want)
		s.expect("POST", create, admin, configMap("allowed", "deny"), nil, 201, "")
		// Not the objects its objectSelector leaves out.
		s.expect("POST", create, admin, configMap("forbidden-elsewhere", "other"), nil, 201, "")
		// Its warnings reach the client, with a refusal too.
		for name, code := range map[string]int{"forbidden-warned": 403, "warned": 201} {
			req, _ := http.NewRequest("POST", "https://"+s.addr+create, strings.NewReader(configMap(name, "deny")))
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if got := resp.Header.Values("Warning"); resp.StatusCode != code || len(got) != 1 || got[0] != `299 - "looked at by deny.skiff.test"` {
				t.Errorf("%s: %d with warnings %q", name, resp.StatusCode, got)
			}
		}
	})

	t.Run("a mutating webhook adds a label", func(t *testing.T) {
		pollUntil(t, func() bool {
			code, out := s.do("POST", create+"?dryRun=All", admin, configMap("labelled", "label"))
			return code == 201 && dig(out, "metadata", "labels", "mutated") == "yes"
		}, "the mutating webhook is in use")
		code, out := s.do("POST", create, admin, configMap("labelled", "label"))
		if code != 201 || dig(out, "metadata", "labels", "mutated") != "yes" {
			t.Fatalf("create: %d %v", code, out)
		}
		if _, got := s.do("GET", create+"/labelled", admin, ""); dig(got, "metadata", "labels", "mutated") != "yes" {
			t.Errorf("stored: %v", got)
		}
	})

	t.Run("a webhook that times out fails closed under Fail", func(t *testing.T) {
		want := `Internal error occurred: failed calling webhook "slow-fail.skiff.test": failed to call webhook: Post "` + slow.URL + `/slow?timeout=1s": context deadline exceeded`
		until(create, configMap("slow", "slow-fail"), 500, want)
		s.expect("POST", create, admin, configMap("slow", "slow-fail"), nil, 500, want)
	})

	t.Run("a webhook that times out lets the write through under Ignore", func(t *testing.T) {
		until(create, configMap("marked", "slow-ignore"), 400, `admission webhook "marker.skiff.test" denied the request: marked objects are refused`)
		s.expect("POST", create, admin, configMap("slow", "slow-ignore"), nil, 201, "")
	})

	t.Run("a bad caBundle fails closed or open by failurePolicy", func(t *testing.T) {
		until(create, configMap("marked", "bad-ca-ignore"), 400, `admission webhook "marker.skiff.test" denied the request: marked objects are refused`)
		s.expect("POST", create, admin, configMap("bad-ca", "bad-ca-ignore"), nil, 201, "")
		s.expect("POST", create, admin, configMap("bad-ca", "bad-ca-fail"), nil, 500,
			`Internal error occurred: failed calling webhook "bad-ca-fail.skiff.test": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block`)
		s.expect("POST", create, admin, configMap("other-ca", "other-ca"), nil, 500,
			`Internal error occurred: failed calling webhook "other-ca.skiff.test": failed to call webhook: Post "`+deny.URL+`?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`)
	})

	t.Run("side effects", func(t *testing.T) {
		// Kubernetes' v1 refuses webhooks with side effects, which
		// could not be sent dry runs.
		s.expect("POST", validating, admin, `{"metadata":{"name":"effects"},"webhooks":[`+
			strings.Replace(webhookJSON("effects.skiff.test", "effects", urlConfig(deny, "", ca.pem), ""), `"sideEffects":"None"`, `"sideEffects":"Some"`, 1)+`]}`, nil, 422,
			`ValidatingWebhookConfiguration.admissionregistration.k8s.io "effects" is invalid: webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"`)
	})

	t.Run("a webhook given by a Service", func(t *testing.T) {
		port := strconv.Itoa(service.Listener.Addr().(*net.TCPAddr).Port)
		s.expect("POST", "/api/v1/namespaces/"+ns+"/services", admin,
			`{"metadata":{"name":"hook"},"spec":{"ports":[{"name":"https","port":443,"targetPort":`+port+`}]}}`, nil, 201, "")
		s.expect("POST", "/apis/discovery.k8s.io/v1/namespaces/"+ns+"/endpointslices", admin,
			`{"metadata":{"name":"hook-1","labels":{"kubernetes.io/service-name":"hook"}},"addressType":"IPv4",
			"endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true}}],"ports":[{"name":"https","port":`+port+`,"protocol":"TCP"}]}`, nil, 201, "")
		s.expect("POST", validating, admin, `{"metadata":{"name":"service"},"webhooks":[`+webhookJSON("service.skiff.test", "service",
			fmt.Sprintf(`{"service":{"namespace":%q,"name":"hook","path":"/check"},"caBundle":%q}`, ns, base64.StdEncoding.EncodeToString([]byte(ca.pem))), "")+`]}`, nil, 201, "")
		until(create, configMap("through-service", "service"), 400, `admission webhook "service.skiff.test" denied the request: refused through the service`)
	})

	t.Run("custom resources", func(t *testing.T) {
		s.expect("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", admin, `{"metadata":{"name":"widgets.stable.example.com"},
			"spec":{"group":"stable.example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
			"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`,
			nil, 201, "")
		widgets := "/apis/stable.example.com/v1/namespaces/" + ns + "/widgets"
		widget := func(name, phase string) string {
			return fmt.Sprintf(`{"apiVersion":"stable.example.com/v1","kind":"Widget","metadata":{"name":%q,"labels":{"webhook-test":%q}}}`, name, phase)
		}
		until(widgets, widget("forbidden", "deny"), 403, `admission webhook "deny.skiff.test" denied the request: names starting with forbidden are not allowed`)
		code, out := s.do("POST", widgets, admin, widget("labelled", "label"))
		if code != 201 || dig(out, "metadata", "labels", "mutated") != "yes" {
			t.Errorf("a widget through the mutating webhook: %d %v", code, out)
		}
	})
}
