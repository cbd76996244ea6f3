package kubectl

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
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// webhookServer is an HTTPS admission webhook on 127.0.0.1, its
// certificate signed by a CA made here: /validate refuses ConfigMaps
// labelled deny=yes (with a warning), /mutate labels them mutated=yes.
// It returns the server and the CA's PEM, the webhooks' caBundle.
func webhookServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e webhook CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Request struct {
				UID    string `json:"uid"`
				Object struct {
					Metadata struct {
						Labels map[string]string `json:"labels"`
					} `json:"metadata"`
				} `json:"object"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := map[string]any{"uid": review.Request.UID, "allowed": true}
		labels := review.Request.Object.Metadata.Labels
		switch {
		case r.URL.Path == "/validate" && labels["deny"] == "yes":
			resp["allowed"] = false
			resp["status"] = map[string]any{"message": "ConfigMaps labelled deny=yes are refused"}
			resp["warnings"] = []string{"looked at by the e2e webhook"}
		case r.URL.Path == "/mutate" && labels["mutated"] != "yes":
			op := `{"op":"add","path":"/metadata/labels","value":{"mutated":"yes"}}`
			if labels != nil {
				op = `{"op":"add","path":"/metadata/labels/mutated","value":"yes"}`
			}
			resp["patchType"] = "JSONPatch"
			resp["patch"] = base64.StdEncoding.EncodeToString([]byte("[" + op + "]"))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
}

// webhookYAML is a configuration of one webhook on the ConfigMaps labelled
// webhook=<selector>.
func webhookYAML(kind, name, url, caBundle, selector string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata:
  name: %s
  labels: {e2e: kinds}
webhooks:
- name: %s.e2e.skiff.test
  clientConfig:
    url: %s
    caBundle: %s
  rules:
  - {operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  objectSelector: {matchLabels: {webhook: %s}}
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 5
`, kind, name, name, url, base64.StdEncoding.EncodeToString([]byte(caBundle)), selector)
}

// TestAdmissionWebhooks: kubectl on the two webhook configuration kinds
// (Kubernetes' columns), and writes through kubectl that a webhook served
// by the test refuses (its message and warning on kubectl's output, dry
// runs too) or labels.
func TestAdmissionWebhooks(t *testing.T) {
	k, _ := newKube(t)
	srv, ca := webhookServer(t)
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		exerciseKind(t, k, kindCase{
			resource: strings.ToLower(kind) + "s",
			manifest: func(name string) string {
				return webhookYAML(kind, name, srv.URL+"/none", ca, "nothing")
			},
			columns: []string{"NAME", "WEBHOOKS", "AGE"},
			cells:   []string{"first", "1", "*"},
		})
	}

	k.runIn(webhookYAML("ValidatingWebhookConfiguration", "deny", srv.URL+"/validate", ca, "e2e")+"---\n"+
		webhookYAML("MutatingWebhookConfiguration", "label", srv.URL+"/mutate", ca, "e2e"), "apply", "-f", "-")
	configMap := func(name, labels string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  labels: {webhook: e2e%s}\ndata: {a: b}\n", name, labels)
	}
	const refused = `admission webhook "deny.e2e.skiff.test" denied the request: ConfigMaps labelled deny=yes are refused`
	framework.Eventually(t, 30*time.Second, "the webhooks are in use", func() error {
		out, err := k.try(configMap("refused", ", deny: \"yes\""), "apply", "--dry-run=server", "-f", "-")
		if err == nil || !strings.Contains(out, refused) {
			return errors.New(out)
		}
		return nil
	})
	out, err := k.try(configMap("refused", ", deny: \"yes\""), "apply", "-f", "-")
	if err == nil {
		t.Errorf("kubectl apply of a refused ConfigMap succeeded:\n%s", out)
	}
	mustContain(t, "kubectl apply of a refused ConfigMap", out, refused, "Warning: looked at by the e2e webhook")

	k.runIn(configMap("labelled", ""), "apply", "-f", "-")
	if got := k.run("get", "configmap", "labelled", "-o", "jsonpath={.metadata.labels.mutated}"); got != "yes" {
		t.Errorf("the mutating webhook's label: got %q", got)
	}
	// A ConfigMap the selectors leave out is left alone.
	k.run("create", "configmap", "untouched", "--from-literal=a=b")
	if got := k.run("get", "configmap", "untouched", "-o", "jsonpath={.metadata.labels}"); got != "" {
		t.Errorf("a ConfigMap the webhooks do not select got labels %s", got)
	}
}
