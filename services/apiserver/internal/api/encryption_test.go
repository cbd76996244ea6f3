package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/encryption"
	"skiff.dev/services/apiserver/internal/encryption/kmstest"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
)

// encryptedEtcd is an embedded etcd that API servers with different
// encryption configurations take turns over, as an apiserver restarted
// with a new --encryption-provider-config does.
type encryptedEtcd struct {
	t    testing.TB
	ctx  context.Context
	etcd *etcd.Embedded
	stop func() // stops the running API
}

func newEncryptedEtcd(t testing.TB) *encryptedEtcd {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ee := &encryptedEtcd{t: t, ctx: ctx, etcd: e}
	t.Cleanup(func() {
		if ee.stop != nil {
			ee.stop()
		}
		cancel()
		_ = e.Close()
	})
	return ee
}

// serve stops the running API and starts one with config (YAML; none
// when empty).
func (ee *encryptedEtcd) serve(config string) *API {
	ee.t.Helper()
	if ee.stop != nil {
		ee.stop()
	}
	ctx, cancel := context.WithCancel(ee.ctx)
	var set *encryption.Set
	if config != "" {
		c, err := encryption.Parse([]byte(config))
		if err != nil {
			ee.t.Fatal(err)
		}
		if set, err = encryption.New(ctx, c); err != nil {
			ee.t.Fatal(err)
		}
	}
	a, err := New(Config{Etcd: ee.etcd.Client(), WatchCacheSize: 100, Encryption: set})
	if err != nil {
		ee.t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		ee.t.Fatal(err)
	}
	ee.stop = func() { cancel(); <-a.Done() }
	return a
}

// raw is the value etcd holds under key.
func (ee *encryptedEtcd) raw(key string) []byte {
	ee.t.Helper()
	resp, err := ee.etcd.Client().Get(ee.ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		ee.t.Fatalf("raw get %s: %v (%d values)", key, err, len(resp.Kvs))
	}
	return resp.Kvs[0].Value
}

// rawPrefix is every value under an etcd key prefix, by key.
func (ee *encryptedEtcd) rawPrefix(prefix string) map[string][]byte {
	ee.t.Helper()
	resp, err := ee.etcd.Client().Get(ee.ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		ee.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

func encConfig(resources string, providers ...string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: " + resources +
		"\n  providers:\n  - " + strings.Join(providers, "\n  - ") + "\n"
}

func aescbc(names ...string) string {
	var keys []string
	for _, n := range names {
		secret := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32s", "secret of "+n)))
		keys = append(keys, fmt.Sprintf("{name: %s, secret: %s}", n, secret))
	}
	return "aescbc: {keys: [" + strings.Join(keys, ", ") + "]}"
}

func secret(name, value string) *corev1.Secret {
	return &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Data: map[string][]byte{"password": []byte(value)}}
}

// TestEncryptionAtRest: a Secret is stored encrypted with aescbc and
// still reads; after a key rotation and a rewrite of every Secret no
// value carries the old key; resources the configuration does not name
// stay as they are.
func TestEncryptionAtRest(t *testing.T) {
	ee := newEncryptedEtcd(t)
	ctx := context.Background()
	a := ee.serve(encConfig("[secrets]", aescbc("key1"), "identity: {}"))
	secrets, cms := a.Backend("", "secrets"), a.Backend("", "configmaps")
	for i := range 3 {
		if _, err := secrets.Create(ctx, secret(fmt.Sprintf("s%d", i), "hunter2"), registry.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cm := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "plain", Namespace: "default"}, Data: map[string]string{"k": "visible"}}
	if _, err := cms.Create(ctx, cm, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := ee.raw("/registry/core/secrets/default/s0")
	if !bytes.HasPrefix(raw, []byte("k8s:enc:aescbc:v1:key1:")) || bytes.Contains(raw, []byte("hunter2")) {
		t.Fatalf("stored secret: %q", raw)
	}
	if raw := ee.raw("/registry/core/configmaps/default/plain"); !bytes.HasPrefix(raw, []byte("k8s\x00")) || !bytes.Contains(raw, []byte("visible")) {
		t.Fatalf("stored configmap is not plain protobuf: %q", raw)
	}
	got, err := secrets.Get(ctx, "default", "s0", registry.GetOptions{})
	if err != nil || string(got.(*corev1.Secret).GetData()["password"]) != "hunter2" {
		t.Fatalf("get: %v %v", got, err)
	}

	// Rotation: key2 first, key1 still there to read; every Secret is
	// rewritten unchanged (kubectl get secrets -A -o json | kubectl
	// replace -f -).
	a = ee.serve(encConfig("[secrets]", aescbc("key2", "key1"), "identity: {}"))
	secrets = a.Backend("", "secrets")
	list, err := secrets.List(ctx, "", registry.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items := list.(*corev1.SecretList).GetItems()
	if len(items) != 3 {
		t.Fatalf("%d secrets listed, want 3", len(items))
	}
	for _, s := range items {
		updated, err := secrets.Update(ctx, s, registry.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.(*corev1.Secret).GetMetadata().GetResourceVersion() == s.GetMetadata().GetResourceVersion() {
			t.Fatalf("secret %s was not rewritten", s.GetMetadata().GetName())
		}
	}
	for key, v := range ee.rawPrefix("/registry/core/secrets/") {
		if !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key2:")) {
			t.Errorf("%s after the rewrite: %q", key, v[:min(len(v), 24)])
		}
	}
	// A rewrite of a value already under key2 writes nothing.
	cur, _ := secrets.Get(ctx, "default", "s1", registry.GetOptions{})
	again, err := secrets.Update(ctx, cur, registry.UpdateOptions{})
	if err != nil || again.(*corev1.Secret).GetMetadata().GetResourceVersion() != cur.(*corev1.Secret).GetMetadata().GetResourceVersion() {
		t.Fatalf("unchanged secret under the current key was written again: %v", err)
	}

	// key1 can now go: everything still reads.
	a = ee.serve(encConfig("[secrets]", aescbc("key2")))
	for i := range 3 {
		if _, err := a.Backend("", "secrets").Get(ctx, "default", fmt.Sprintf("s%d", i), registry.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEncryptionOfCustomResources: *.* covers custom resources, whose
// values are JSON before encryption.
func TestEncryptionOfCustomResources(t *testing.T) {
	ee := newEncryptedEtcd(t)
	ctx := context.Background()
	a := ee.serve(encConfig("['*.*']", "aesgcm: {keys: [{name: g, secret: "+base64.StdEncoding.EncodeToString(make([]byte, 32))+"}]}"))
	widgets, _ := installCRD(t, a, "enc.example.com")
	if _, err := widgets.Create(ctx, widget("w"), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if raw := ee.raw("/registry/enc.example.com/widgets/default/w"); !bytes.HasPrefix(raw, []byte("k8s:enc:aesgcm:v1:g:")) {
		t.Fatalf("stored widget: %q", raw)
	}
	got, err := widgets.Get(ctx, "default", "w", registry.GetOptions{})
	if err != nil || !strings.Contains(string(got.(*apiextensionsv1.CustomObject).GetContent().GetRaw()), `"colour":"red"`) {
		t.Fatalf("get: %v %v", got, err)
	}
}

// TestEncryptionKMSv2: Secrets round-trip through a KMS v2 plugin.
func TestEncryptionKMSv2(t *testing.T) {
	ee := newEncryptedEtcd(t)
	ctx := context.Background()
	plugin := kmstest.Start(t)
	a := ee.serve(encConfig("[secrets]", "kms: {apiVersion: v2, name: test-kms, endpoint: '"+plugin.Endpoint+"', timeout: 5s}"))
	secrets := a.Backend("", "secrets")
	if _, err := secrets.Create(ctx, secret("k", "s3cr3t"), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if raw := ee.raw("/registry/core/secrets/default/k"); !bytes.HasPrefix(raw, []byte("k8s:enc:kms:v2:test-kms:")) ||
		bytes.Contains(raw, []byte("s3cr3t")) {
		t.Fatalf("stored secret: %q", raw)
	}
	// A restarted server asks the plugin to decrypt the seed.
	a = ee.serve(encConfig("[secrets]", "kms: {apiVersion: v2, name: test-kms, endpoint: '"+plugin.Endpoint+"', timeout: 5s}"))
	got, err := a.Backend("", "secrets").Get(ctx, "default", "k", registry.GetOptions{})
	if err != nil || string(got.(*corev1.Secret).GetData()["password"]) != "s3cr3t" {
		t.Fatalf("get: %v %v", got, err)
	}
	if plugin.Decrypts.Load() == 0 {
		t.Fatal("the restarted server read the secret without the plugin")
	}
	// Watches see decrypted objects too.
	w, err := a.Backend("", "secrets").Watch(ctx, "default", registry.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s := proto.Clone(got).(*corev1.Secret)
	s.Data["password"] = []byte("changed")
	if _, err := a.Backend("", "secrets").Update(ctx, s, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if s, ok := ev.Object.(*corev1.Secret); ok && string(s.GetData()["password"]) == "changed" {
				return
			}
		case <-timeout:
			t.Fatal("no watch event with the changed secret")
		}
	}
}
