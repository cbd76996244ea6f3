package apiserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/e2e/framework"
)

// encryptionConfig is an EncryptionConfiguration with aescbc keys for
// Secrets, the first writing, and identity last.
func encryptionConfig(keys ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n")
	for _, k := range keys {
		secret := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32s", "e2e "+k)))
		fmt.Fprintf(&b, "      - name: %s\n        secret: %s\n", k, secret)
	}
	b.WriteString("  - identity: {}\n")
	return b.String()
}

// rawEtcd reads values under an etcd key prefix straight from the
// apiserver's embedded etcd, through etcd's JSON gateway on its client
// URL, with the apiserver's etcd client certificate.
func rawEtcd(t *testing.T, srv *framework.APIServer, prefix string) map[string][]byte {
	t.Helper()
	endpoint, tlsCfg := srv.EtcdAccess(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	end := []byte(prefix)
	end[len(end)-1]++
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(prefix)),
		"range_end": base64.StdEncoding.EncodeToString(end)})
	resp, err := client.Post(endpoint+"/v3/kv/range", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct{ Kvs []struct{ Key, Value []byte } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	values := map[string][]byte{}
	for _, kv := range out.Kvs {
		values[string(kv.Key)] = kv.Value
	}
	return values
}

// TestEncryptionAtRest: with an aescbc configuration a Secret made by
// kubectl is stored under k8s:enc:aescbc:v1:key1: and kubectl still reads
// it; after key2 is put first and every Secret is replaced, no value
// carries key1.
func TestEncryptionAtRest(t *testing.T) {
	config := filepath.Join(t.TempDir(), "encryption.yaml")
	if err := os.WriteFile(config, []byte(encryptionConfig("key1")), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := framework.StartAPIServerWithFlags(t, "--encryption-provider-config", config)
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, srv.Kubeconfig(), stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	kubectl("", "create", "secret", "generic", "db", "--from-literal=password=hunter2")
	kubectl("", "create", "namespace", "other")
	kubectl("", "-n", "other", "create", "secret", "generic", "api", "--from-literal=token=t0k3n")

	raw := rawEtcd(t, srv, "/registry/core/secrets/")
	if len(raw) < 2 {
		t.Fatalf("%d secrets in etcd, want at least 2", len(raw))
	}
	for key, v := range raw {
		if !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key1:")) || bytes.Contains(v, []byte("hunter2")) {
			t.Fatalf("%s is stored as %q", key, v[:min(len(v), 40)])
		}
	}
	var s struct{ Data map[string]string }
	if err := json.Unmarshal([]byte(kubectl("", "get", "secret", "db", "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Data["password"] != base64.StdEncoding.EncodeToString([]byte("hunter2")) {
		t.Fatalf("kubectl read password %q", s.Data["password"])
	}

	// Rotate: key2 first, key1 still readable; restart; rewrite.
	if err := os.WriteFile(config, []byte(encryptionConfig("key2", "key1")), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Start()
	all := kubectl("", "get", "secrets", "-A", "-o", "json")
	kubectl(all, "replace", "-f", "-")
	for key, v := range rawEtcd(t, srv, "/registry/core/secrets/") {
		if !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key2:")) {
			t.Errorf("%s after the rewrite: %q", key, v[:min(len(v), 40)])
		}
	}
	if out := kubectl("", "-n", "other", "get", "secret", "api", "-o", "jsonpath={.data.token}"); out != base64.StdEncoding.EncodeToString([]byte("t0k3n")) {
		t.Fatalf("after rotation kubectl read %q", out)
	}
}
