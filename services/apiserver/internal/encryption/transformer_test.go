package encryption

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const etcdKey = "/registry/core/secrets/default/s1"

var (
	key16 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key24 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	other = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

// mustSet builds the transformers of a configuration written as YAML.
func mustSet(t *testing.T, yaml string) *Set {
	t.Helper()
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keysConfig(provider string, keys ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n")
	b.WriteString("  - " + provider + ":\n      keys:\n")
	for i := 0; i+1 < len(keys); i += 2 {
		b.WriteString("      - name: " + keys[i] + "\n        secret: " + keys[i+1] + "\n")
	}
	return b.String()
}

func TestProviders(t *testing.T) {
	plain := []byte("k8s\x00 a secret value")
	for _, tc := range []struct {
		provider, secret string
		authenticated    bool // the etcd key is bound
		overhead         int  // bytes added after the prefix
	}{
		{"aescbc", key16, false, 16 + 16 - len(plain)%16},
		{"aescbc", key32, false, 16 + 16 - len(plain)%16},
		{"aesgcm", key24, true, 12 + 16},
		{"aesgcm", key32, true, 12 + 16},
		{"secretbox", key32, false, 24 + 16},
	} {
		t.Run(tc.provider+"/"+tc.secret[:4], func(t *testing.T) {
			ctx := context.Background()
			tr := mustSet(t, keysConfig(tc.provider, "key1", tc.secret)).For("", "secrets")
			stored, err := tr.TransformToStorage(ctx, plain, etcdKey)
			if err != nil {
				t.Fatal(err)
			}
			prefix := "k8s:enc:" + tc.provider + ":v1:key1:"
			if !bytes.HasPrefix(stored, []byte(prefix)) {
				t.Fatalf("stored value starts %q, want %q", stored[:min(len(stored), 30)], prefix)
			}
			if got := len(stored) - len(prefix) - len(plain); got != tc.overhead {
				t.Errorf("overhead %d bytes, want %d", got, tc.overhead)
			}
			if bytes.Contains(stored, []byte("a secret value")) {
				t.Fatal("the plaintext is visible in the stored value")
			}
			again, _ := tr.TransformToStorage(ctx, plain, etcdKey)
			if bytes.Equal(again, stored) {
				t.Fatal("two encryptions of one value are equal: no random IV")
			}
			out, stale, err := tr.TransformFromStorage(ctx, stored, etcdKey)
			if err != nil || stale || !bytes.Equal(out, plain) {
				t.Fatalf("round trip: %q stale=%v err=%v", out, stale, err)
			}

			// The same key name with another secret does not read it.
			wrong := mustSet(t, keysConfig(tc.provider, "key1", other)).For("", "secrets")
			if out, _, err := wrong.TransformFromStorage(ctx, stored, etcdKey); err == nil && bytes.Equal(out, plain) {
				t.Fatal("a wrong key decrypted the value")
			}

			// A flipped bit in the ciphertext: authenticated ciphers
			// refuse; CBC cannot tell, but never returns the plaintext.
			tampered := bytes.Clone(stored)
			tampered[len(tampered)-1] ^= 1
			out, _, err = tr.TransformFromStorage(ctx, tampered, etcdKey)
			if tc.provider != "aescbc" && err == nil {
				t.Fatal("a tampered value decrypted")
			}
			if err == nil && bytes.Equal(out, plain) {
				t.Fatal("a tampered value decrypted to the plaintext")
			}

			// Moved to another key: refused where the key is bound.
			_, _, err = tr.TransformFromStorage(ctx, stored, "/registry/core/secrets/default/s2")
			if tc.authenticated != (err != nil) {
				t.Fatalf("read under another etcd key: err=%v, want an error: %v", err, tc.authenticated)
			}
		})
	}
}

func TestChain(t *testing.T) {
	ctx := context.Background()
	plain := []byte("k8s\x00value")
	oldOnly := mustSet(t, keysConfig("aescbc", "key1", key32)).For("", "secrets")
	rotated := mustSet(t, keysConfig("aescbc", "key2", other, "key1", key32)).For("", "secrets")
	byKey1, _ := oldOnly.TransformToStorage(ctx, plain, etcdKey)

	// After a rotation the old key still reads, and calls the value stale.
	out, stale, err := rotated.TransformFromStorage(ctx, byKey1, etcdKey)
	if err != nil || !stale || !bytes.Equal(out, plain) {
		t.Fatalf("old key's value: %q stale=%v err=%v", out, stale, err)
	}
	byKey2, _ := rotated.TransformToStorage(ctx, plain, etcdKey)
	if !bytes.HasPrefix(byKey2, []byte("k8s:enc:aescbc:v1:key2:")) {
		t.Fatalf("rotated write: %q", byKey2[:24])
	}
	if _, stale, _ := rotated.TransformFromStorage(ctx, byKey2, etcdKey); stale {
		t.Fatal("a value of the writing key is stale")
	}

	// Without identity, plaintext is refused; with it (later), it reads
	// and is stale; an unknown prefix is named.
	if _, _, err := oldOnly.TransformFromStorage(ctx, plain, etcdKey); err == nil ||
		err.Error() != "the value is not encrypted, and identity is not among the resource's providers" {
		t.Fatalf("plaintext without identity: %v", err)
	}
	withIdentity := mustSet(t, `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm: {keys: [{name: k, secret: `+key32+`}]}
  - identity: {}
`).For("", "secrets")
	out, stale, err = withIdentity.TransformFromStorage(ctx, plain, etcdKey)
	if err != nil || !stale || !bytes.Equal(out, plain) {
		t.Fatalf("plaintext with identity second: %q stale=%v err=%v", out, stale, err)
	}
	_, _, err = withIdentity.TransformFromStorage(ctx, byKey1, etcdKey)
	if err == nil || err.Error() != `the value's prefix "k8s:enc:aescbc:v1:key1:" matches no configured provider` {
		t.Fatalf("unknown prefix: %v", err)
	}

	// Identity first writes plaintext and still reads encrypted values:
	// how encryption is turned off.
	identityFirst := mustSet(t, `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - identity: {}
  - aescbc: {keys: [{name: key1, secret: `+key32+`}]}
`).For("", "secrets")
	if w, _ := identityFirst.TransformToStorage(ctx, plain, etcdKey); !bytes.Equal(w, plain) {
		t.Fatalf("identity wrote %q", w)
	}
	out, stale, err = identityFirst.TransformFromStorage(ctx, byKey1, etcdKey)
	if err != nil || !stale || !bytes.Equal(out, plain) {
		t.Fatalf("encrypted value under identity first: %q stale=%v err=%v", out, stale, err)
	}
	if _, stale, _ := identityFirst.TransformFromStorage(ctx, plain, etcdKey); stale {
		t.Fatal("plaintext under identity first is stale")
	}

	// Two providers of one kind with one key name: the first that
	// decrypts wins.
	twice := mustSet(t, `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc: {keys: [{name: key1, secret: `+other+`}]}
  - aescbc: {keys: [{name: key1, secret: `+key32+`}]}
`).For("", "secrets")
	out, stale, err = twice.TransformFromStorage(ctx, byKey1, etcdKey)
	if err != nil || !stale || !bytes.Equal(out, plain) {
		t.Fatalf("same key name in two providers: %q stale=%v err=%v", out, stale, err)
	}
}

func TestResourceMatching(t *testing.T) {
	s := mustSet(t, `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [events]
  providers: [{identity: {}}]
- resources: [secrets, configmaps, widgets.example.com]
  providers: [{aescbc: {keys: [{name: a, secret: `+key16+`}]}}]
- resources: ['*.apps']
  providers: [{aesgcm: {keys: [{name: b, secret: `+key16+`}]}}]
- resources: ['*.*']
  providers: [{secretbox: {keys: [{name: c, secret: `+key32+`}]}}]
`)
	ctx := context.Background()
	for _, tc := range []struct{ group, resource, prefix string }{
		{"", "secrets", "k8s:enc:aescbc:v1:a:"},
		{"", "configmaps", "k8s:enc:aescbc:v1:a:"},
		{"example.com", "widgets", "k8s:enc:aescbc:v1:a:"},
		{"apps", "deployments", "k8s:enc:aesgcm:v1:b:"},
		{"", "pods", "k8s:enc:secretbox:v1:c:"},
		{"example.com", "gadgets", "k8s:enc:secretbox:v1:c:"},
		{"", "events", ""},
	} {
		out, err := s.For(tc.group, tc.resource).TransformToStorage(ctx, []byte("x"), etcdKey)
		if err != nil {
			t.Fatal(err)
		}
		if tc.prefix == "" && string(out) != "x" || tc.prefix != "" && !bytes.HasPrefix(out, []byte(tc.prefix)) {
			t.Errorf("%s.%s: wrote %q, want prefix %q", tc.resource, tc.group, out[:min(len(out), 24)], tc.prefix)
		}
	}

	// Without a wildcard, an unlisted resource is identity.
	only := mustSet(t, keysConfig("aescbc", "k", key16))
	if out, _ := only.For("", "configmaps").TransformToStorage(ctx, []byte("x"), etcdKey); string(out) != "x" {
		t.Fatalf("unlisted resource: %q", out)
	}
	var none *Set
	if none.For("", "secrets") != nil {
		t.Fatal("a nil Set has transformers")
	}
}

// TestKubernetesValues reads values that Kubernetes' own transformers
// wrote (testdata/kubernetes-values.json): the formats are the same.
func TestKubernetesValues(t *testing.T) {
	v := kubernetesValues(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, provider, secret string }{
		{"aescbc", "aescbc", v["key16"]},
		{"aesgcm", "aesgcm", v["key16"]},
		{"secretbox", "secretbox", v["key32"]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustSet(t, keysConfig(tc.provider, "key1", tc.secret)).For("", "secrets")
			out, stale, err := tr.TransformFromStorage(ctx, decode64(t, v[tc.name]), v["aad"])
			if err != nil || stale || !bytes.Equal(out, decode64(t, v["plaintext"])) {
				t.Fatalf("%q stale=%v err=%v", out, stale, err)
			}
		})
	}
}

func kubernetesValues(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("testdata/kubernetes-values.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func decode64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
