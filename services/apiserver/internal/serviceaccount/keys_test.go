package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writePEM(t *testing.T, name string, blocks ...*pem.Block) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	pub, _ := x509.MarshalPKIXPublicKey(ec.Public())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sa"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rk.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		block *pem.Block
		want  crypto.PublicKey
	}{
		"EC PRIVATE KEY": {&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}, ec.Public()},
		"PKCS#8 RSA":     {&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}, rk.Public()},
	} {
		key, err := LoadSigningKey(writePEM(t, "key.pem", tc.block))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want) {
			t.Errorf("%s: loaded another key", name)
		}
	}
	if _, err := LoadSigningKey(writePEM(t, "pub.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: pub})); err == nil {
		t.Error("a public key loaded as a signing key")
	}
	keys, err := LoadPublicKeys(
		writePEM(t, "a.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: pub}, &pem.Block{Type: "CERTIFICATE", Bytes: cert}),
		writePEM(t, "b.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	if err != nil || len(keys) != 3 {
		t.Fatalf("got %d keys, %v; want 3", len(keys), err)
	}
	if _, err := LoadPublicKeys(writePEM(t, "empty.pem")); err == nil {
		t.Error("a file without keys loaded")
	}
}

// TestJWKSVerifiesTokens: a party that only reads /openid/v1/jwks can
// check a token's signature.
func TestJWKSVerifiesTokens(t *testing.T) {
	f := newFixture(t)
	o, err := NewOIDC(f.auth, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest("GET", JWKSPath, nil))
	var set struct{ Keys []jwk }
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("key set %s: %v", rec.Body, err)
	}
	k := set.Keys[0]
	x, _ := base64.RawURLEncoding.DecodeString(k.X)
	y, _ := base64.RawURLEncoding.DecodeString(k.Y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil || k.Crv != "P-256" || k.Alg != "ES256" {
		t.Fatalf("JWK %+v: %v", k, err)
	}
	pk, err := newPublicKey(pub)
	if err != nil || pk.kid != k.Kid {
		t.Fatalf("kid %q, want %q (%v)", pk.kid, k.Kid, err)
	}
	tok, err := parseJWS(f.token(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.verify([]publicKey{pk}); err != nil {
		t.Fatalf("the published key does not verify a token: %v", err)
	}
	rec = httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest("GET", DiscoveryPath, nil))
	var disc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &disc); err != nil || disc["issuer"] != testIssuer || disc["jwks_uri"] != testIssuer+JWKSPath {
		t.Fatalf("discovery %s: %v", rec.Body, err)
	}
	if _, ok, _ := f.auth.AuthenticateToken(context.Background(), "a.b.c"); ok {
		t.Fatal("garbage authenticated")
	}
}
