package encryption

import (
	"context"
	"testing"

	"skiff.dev/services/apiserver/internal/encryption/kmstest"
)

// BenchmarkTransform: the cost of the transformation alone, writing and
// reading a 1 KiB value; KMS v2 reads with the seed known, as every read
// but the first after a start does.
func BenchmarkTransform(b *testing.B) {
	plugin := kmstest.Start(b)
	for _, tc := range []struct{ name, config string }{
		{"identity", header + "resources:\n- resources: [secrets]\n  providers: [{identity: {}}]\n"},
		{"aescbc", keysConfig("aescbc", "k", key32)},
		{"aesgcm", keysConfig("aesgcm", "k", key32)},
		{"secretbox", keysConfig("secretbox", "k", key32)},
		{"kmsv2", kmsConfig(plugin.Endpoint, "3s")},
	} {
		c, err := Parse([]byte(tc.config))
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(b.Context(), c)
		if err != nil {
			b.Fatal(err)
		}
		tr := s.For("", "secrets")
		ctx := context.Background()
		plain := make([]byte, 1024)
		stored, err := tr.TransformToStorage(ctx, plain, etcdKey)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/write", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.TransformToStorage(ctx, plain, etcdKey); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/read", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tr.TransformFromStorage(ctx, stored, etcdKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
