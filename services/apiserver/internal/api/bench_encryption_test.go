package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"skiff.dev/services/apiserver/internal/encryption/kmstest"
	"skiff.dev/services/apiserver/internal/registry"
)

// BenchmarkSecretEncryption: one op creates a Secret and reads it back,
// with no configuration, identity, each local provider and KMS v2 (the
// test plugin on a unix socket), in one run. docs/performance.md records
// the results.
func BenchmarkSecretEncryption(b *testing.B) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct{ name, provider string }{
		{"none", ""},
		{"identity", "identity: {}"},
		{"aescbc", "aescbc: {keys: [{name: k, secret: " + key + "}]}"},
		{"aesgcm", "aesgcm: {keys: [{name: k, secret: " + key + "}]}"},
		{"secretbox", "secretbox: {keys: [{name: k, secret: " + key + "}]}"},
		{"kmsv2", "kms"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ee := newEncryptedEtcd(b)
			var a *API
			switch tc.provider {
			case "":
				a = ee.serve("")
			case "kms":
				p := kmstest.Start(b)
				a = ee.serve(encConfig("[secrets]", "kms: {apiVersion: v2, name: bench, endpoint: '"+p.Endpoint+"'}"))
			default:
				a = ee.serve(encConfig("[secrets]", tc.provider))
			}
			secrets := a.Backend("", "secrets")
			ctx := context.Background()
			value := string(make([]byte, 1024))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("s-%d", i)
				if _, err := secrets.Create(ctx, secret(name, value), registry.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
				if _, err := secrets.Get(ctx, "default", name, registry.GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
