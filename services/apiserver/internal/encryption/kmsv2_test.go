package encryption

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	kmsapi "k8s.io/kms/apis/v2"

	"skiff.dev/services/apiserver/internal/encryption/kmstest"
)

func kmsConfig(endpoint, timeout string) string {
	return header + `resources:
- resources: [secrets]
  providers:
  - kms: {apiVersion: v2, name: vault, endpoint: '` + endpoint + `', timeout: ` + timeout + `}
  - identity: {}
`
}

func TestKMSv2(t *testing.T) {
	ctx := context.Background()
	plugin := kmstest.Start(t)
	set := mustSet(t, kmsConfig(plugin.Endpoint, "2s"))
	tr := set.For("", "secrets")
	plain := []byte("k8s\x00 a secret value")

	stored, err := tr.TransformToStorage(ctx, plain, etcdKey)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "k8s:enc:kms:v2:vault:"
	if !bytes.HasPrefix(stored, []byte(prefix)) {
		t.Fatalf("stored value starts %q", stored[:min(len(stored), 30)])
	}
	o, err := unmarshalEncryptedObject(stored[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	if o.KeyID != "key-1" || o.SourceType != sourceHKDFSeed || string(o.Annotations["kmstest.skiff.dev"]) != "v1" ||
		len(o.EncryptedData) != kmsInfoSize+12+len(plain)+16 {
		t.Fatalf("stored object: key ID %q, type %d, annotations %v, %d data bytes", o.KeyID, o.SourceType, o.Annotations, len(o.EncryptedData))
	}
	if n := plugin.Encrypts.Load(); n != 1 {
		t.Fatalf("%d Encrypt calls for the first seed, want 1", n)
	}
	for range 3 {
		if _, err := tr.TransformToStorage(ctx, plain, etcdKey); err != nil {
			t.Fatal(err)
		}
	}
	if n := plugin.Encrypts.Load(); n != 1 {
		t.Fatalf("%d Encrypt calls after four writes, want 1: the seed is reused", n)
	}
	out, stale, err := tr.TransformFromStorage(ctx, stored, etcdKey)
	if err != nil || stale || !bytes.Equal(out, plain) {
		t.Fatalf("round trip: %q stale=%v err=%v", out, stale, err)
	}
	if _, _, err := tr.TransformFromStorage(ctx, stored, "/registry/core/secrets/default/other"); err == nil {
		t.Fatal("a value read under another etcd key")
	}
	if n := plugin.Decrypts.Load(); n != 0 {
		t.Fatalf("%d Decrypt calls, want none: the writing seed is known", n)
	}
	o.EncryptedData = bytes.Clone(o.EncryptedData)
	o.EncryptedData[len(o.EncryptedData)-1] ^= 1
	if _, _, err := tr.TransformFromStorage(ctx, append([]byte(prefix), o.marshal()...), etcdKey); err == nil ||
		!strings.Contains(err.Error(), "message authentication failed") {
		t.Fatalf("a tampered value: %v", err)
	}

	// Another server (a restart) asks the plugin for the seed once.
	restarted := mustSet(t, kmsConfig(plugin.Endpoint, "2s")).For("", "secrets")
	for range 3 {
		if out, _, err := restarted.TransformFromStorage(ctx, stored, etcdKey); err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("after restart: %q %v", out, err)
		}
	}
	if n := plugin.Decrypts.Load(); n != 1 {
		t.Fatalf("%d Decrypt calls for three reads, want 1", n)
	}

	// The plugin moves to a new key: the next status makes a new seed,
	// writes carry the new key ID, and old values read as stale.
	if err := plugin.Rotate("key-2"); err != nil {
		t.Fatal(err)
	}
	if err := set.kms[0].check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, stale, err := tr.TransformFromStorage(ctx, stored, etcdKey); err != nil || !stale {
		t.Fatalf("value of the old key ID: stale=%v err=%v", stale, err)
	}
	fresh, err := tr.TransformToStorage(ctx, plain, etcdKey)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := unmarshalEncryptedObject(fresh[len(prefix):]); o.KeyID != "key-2" {
		t.Fatalf("write after rotation used key ID %q", o.KeyID)
	}
	if _, stale, _ := tr.TransformFromStorage(ctx, fresh, etcdKey); stale {
		t.Fatal("a value of the current key ID is stale")
	}

	// A key the plugin lost: its values no longer read on a new server.
	plugin.Forget("key-1")
	lost := mustSet(t, kmsConfig(plugin.Endpoint, "2s")).For("", "secrets")
	if _, _, err := lost.TransformFromStorage(ctx, stored, etcdKey); err == nil ||
		!strings.Contains(err.Error(), "the plugin could not decrypt the data encryption key") {
		t.Fatalf("value of a forgotten key: %v", err)
	}

	// An unhealthy plugin fails the status check, and writes go on with
	// the last seed only until it expires.
	plugin.SetHealthz("sealed")
	if err := set.kms[0].check(ctx); err == nil || !strings.Contains(err.Error(), `the plugin's healthz is "sealed", not "ok"`) {
		t.Fatalf("unhealthy plugin: %v", err)
	}
	if _, err := tr.TransformToStorage(ctx, plain, etcdKey); err != nil {
		t.Fatalf("write within the TTL: %v", err)
	}
	set.kms[0].now = func() time.Time { return time.Now().Add(kmsWriteTTL + time.Second) }
	if _, err := tr.TransformToStorage(ctx, plain, etcdKey); err == nil || !strings.Contains(err.Error(), "the data encryption key expired at") {
		t.Fatalf("write after the TTL: %v", err)
	}
	if out, _, err := tr.TransformFromStorage(ctx, fresh, etcdKey); err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("reads go on after the TTL: %v", err)
	}
}

func TestKMSv2PluginDown(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	tr := mustSet(t, kmsConfig("unix://"+t.TempDir()+"/none.sock", "200ms")).For("", "secrets")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("New waited %s for a missing plugin", d)
	}
	_, err := tr.TransformToStorage(ctx, []byte("x"), etcdKey)
	if err == nil || !strings.HasPrefix(err.Error(), `encrypt with KMS v2 provider "vault": no data encryption key yet: the plugin has not answered (KMS v2 provider "vault": status: `) {
		t.Fatalf("write without a plugin: %v", err)
	}
	// Plaintext still reads through identity.
	if out, _, err := tr.TransformFromStorage(ctx, []byte("x"), etcdKey); err != nil || string(out) != "x" {
		t.Fatalf("plaintext: %q %v", out, err)
	}
}

// wrappingPlugin decrypts as the fake plugin that wrote
// testdata/kubernetes-values.json encrypted: "wrapped:" + plaintext.
type wrappingPlugin struct {
	kmsapi.KeyManagementServiceClient
}

func (wrappingPlugin) Decrypt(_ context.Context, in *kmsapi.DecryptRequest, _ ...grpc.CallOption) (*kmsapi.DecryptResponse, error) {
	return &kmsapi.DecryptResponse{Plaintext: bytes.TrimPrefix(in.GetCiphertext(), []byte("wrapped:"))}, nil
}

// TestKMSv2KubernetesValues reads KMS v2 values written by Kubernetes:
// with a KDF seed (1.29 on) and with a plain DEK (before).
func TestKMSv2KubernetesValues(t *testing.T) {
	v := kubernetesValues(t)
	p := newKMSProviderWithClient("mykms", wrappingPlugin{}, time.Second)
	tr := &chain{entries: []entry{{prefix: "k8s:enc:kms:v2:mykms:", name: "kms", cipher: p}}}
	for _, name := range []string{"kmsv2_seed", "kmsv2_dek"} {
		out, _, err := tr.TransformFromStorage(context.Background(), decode64(t, v[name]), v["aad"])
		if err != nil || !bytes.Equal(out, decode64(t, v["plaintext"])) {
			t.Fatalf("%s: %q %v", name, out, err)
		}
	}
}

// TestEncryptedObjectWire checks the hand-written codec against the
// protobuf library, over a descriptor of Kubernetes' EncryptedObject.
func TestEncryptedObjectWire(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int32) *int32 { return &n }
	bytesT, stringT, enumT, msgT := descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum(),
		descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_ENUM.Enum(),
		descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	fd := &descriptorpb.FileDescriptorProto{
		Name: str("v2/api.proto"), Package: str("v2"), Syntax: str("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: str("EncryptedObject"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: str("encryptedData"), Number: num(1), Type: bytesT, Label: opt, JsonName: str("encryptedData")},
				{Name: str("keyID"), Number: num(2), Type: stringT, Label: opt, JsonName: str("keyID")},
				{Name: str("encryptedDEKSource"), Number: num(3), Type: bytesT, Label: opt, JsonName: str("encryptedDEKSource")},
				{Name: str("annotations"), Number: num(4), Type: msgT, Label: rep, TypeName: str(".v2.EncryptedObject.AnnotationsEntry"), JsonName: str("annotations")},
				{Name: str("encryptedDEKSourceType"), Number: num(5), Type: enumT, Label: opt, TypeName: str(".v2.EncryptedDEKSourceType"), JsonName: str("encryptedDEKSourceType")},
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name: str("AnnotationsEntry"),
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: str("key"), Number: num(1), Type: stringT, Label: opt, JsonName: str("key")},
					{Name: str("value"), Number: num(2), Type: bytesT, Label: opt, JsonName: str("value")},
				},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}},
		}},
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: str("EncryptedDEKSourceType"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: str("AES_GCM_KEY"), Number: num(0)},
				{Name: str("HKDF_SHA256_XNONCE_AES_GCM_SEED"), Number: num(1)},
			},
		}},
	}
	file, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := file.Messages().ByName("EncryptedObject")
	o := &encryptedObject{EncryptedData: []byte("data"), KeyID: "kek", EncryptedDEKSource: []byte("seed"),
		Annotations: map[string][]byte{"a.example.com": []byte("1"), "b.example.com": {}}, SourceType: sourceHKDFSeed}

	// Ours, read by the library.
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(o.marshal(), m); err != nil {
		t.Fatal(err)
	}
	f := md.Fields()
	if string(m.Get(f.ByNumber(1)).Bytes()) != "data" || m.Get(f.ByNumber(2)).String() != "kek" ||
		string(m.Get(f.ByNumber(3)).Bytes()) != "seed" || m.Get(f.ByNumber(5)).Enum() != 1 || m.Get(f.ByNumber(4)).Map().Len() != 2 {
		t.Fatalf("the library read %v", m)
	}
	// The library's, read by ours.
	lib, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lib, o.marshal()) {
		t.Errorf("bytes differ from the library's deterministic encoding:\n%x\n%x", lib, o.marshal())
	}
	back, err := unmarshalEncryptedObject(lib)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.EncryptedData) != "data" || back.KeyID != "kek" || string(back.EncryptedDEKSource) != "seed" ||
		back.SourceType != sourceHKDFSeed || len(back.Annotations) != 2 || string(back.Annotations["a.example.com"]) != "1" {
		t.Fatalf("read back %+v", back)
	}
}
