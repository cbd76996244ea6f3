package serviceaccount

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
)

// Paths of the OpenID Connect discovery document and the key set.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/openid/v1/jwks"
)

// jwk is a public key as a JSON Web Key.
type jwk struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

func toJWK(k publicKey) (jwk, error) {
	out := jwk{Use: "sig", Kid: k.kid, Alg: k.alg.name}
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		point, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			return jwk{}, err
		}
		size := (len(point) - 1) / 2
		out.Kty, out.Crv = "EC", pub.Curve.Params().Name
		out.X, out.Y = b64(point[1:1+size]), b64(point[1+size:])
	case *rsa.PublicKey:
		out.Kty = "RSA"
		out.N, out.E = b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	default:
		return jwk{}, fmt.Errorf("%T keys cannot be published", pub)
	}
	return out, nil
}

// OIDC serves the discovery document and the key set, so other parties
// (cloud identity federation, Vault) can check tokens themselves.
type OIDC struct {
	discovery, jwks []byte
}

// NewOIDC builds both documents for the first issuer and the
// authenticator's keys. jwksURI is where the key set is reachable; empty
// means <issuer>/openid/v1/jwks.
func NewOIDC(a *Authenticator, jwksURI string) (*OIDC, error) {
	issuer := a.cfg.Issuers[0]
	if jwksURI == "" {
		jwksURI = strings.TrimSuffix(issuer, "/") + JWKSPath
	}
	var keys []jwk
	algs := map[string]bool{}
	var algList []string
	for _, k := range a.keys {
		j, err := toJWK(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, j)
		if !algs[j.Alg] {
			algs[j.Alg] = true
			algList = append(algList, j.Alg)
		}
	}
	discovery, err := json.Marshal(map[string]any{
		"issuer": issuer, "jwks_uri": jwksURI,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algList,
	})
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		return nil, err
	}
	return &OIDC{discovery: discovery, jwks: jwks}, nil
}

// ServeHTTP answers GET of DiscoveryPath and JWKSPath.
func (o *OIDC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var doc []byte
	contentType := "application/json"
	switch r.URL.Path {
	case DiscoveryPath:
		doc = o.discovery
	case JWKSPath:
		doc, contentType = o.jwks, "application/jwk-set+json"
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(doc)
}
