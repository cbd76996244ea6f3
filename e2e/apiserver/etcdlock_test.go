package apiserver

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// TestEmbeddedEtcdAnswersOnlyTheApiserver: with a Secret made through
// kubectl, etcd's JSON gateway on the embedded member's client URL
// refuses a reader in clear and one over TLS without the apiserver's
// client certificate, answers the one holding it, and kubectl still reads
// the Secret through the apiserver.
func TestEmbeddedEtcdAnswersOnlyTheApiserver(t *testing.T) {
	srv := framework.StartAPIServer(t)
	if out, err := framework.Kubectl(t, srv.Kubeconfig(), "", "create", "secret", "generic", "locked", "--from-literal=k=v"); err != nil {
		t.Fatalf("kubectl create secret: %v\n%s", err, out)
	}
	endpoint, creds := srv.EtcdAccess(t)
	prefix := "/registry/core/secrets/default/locked"
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(prefix))})
	noCert := &tls.Config{RootCAs: creds.RootCAs, MinVersion: tls.VersionTLS12}
	tests := []struct {
		name   string
		url    string
		tls    *tls.Config
		allows bool
	}{
		{"plain HTTP", "http://" + strings.TrimPrefix(endpoint, "https://"), nil, false},
		{"TLS without a client certificate", endpoint, noCert, false},
		{"the apiserver's client certificate", endpoint, creds, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.tls}}
			resp, err := c.Post(tc.url+"/v3/kv/range", "application/json", bytes.NewReader(body))
			var out struct{ Kvs []struct{ Key []byte } }
			read := err == nil && resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&out) == nil && len(out.Kvs) == 1
			if err == nil {
				_ = resp.Body.Close()
			}
			if read != tc.allows {
				t.Fatalf("read the Secret's key: %v, want %v (error %v)", read, tc.allows, err)
			}
		})
	}
	if out, err := framework.Kubectl(t, srv.Kubeconfig(), "", "get", "secret", "locked", "-o", "name"); err != nil || !strings.Contains(out, "secret/locked") {
		t.Fatalf("kubectl get secret: %v\n%s", err, out)
	}
}
