package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// header is the protected header of a compact JWS.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
}

// signer signs compact JWS tokens with one private key.
type signer struct {
	key crypto.Signer
	pub publicKey
}

func newSigner(key crypto.Signer) (*signer, error) {
	pub, err := newPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	return &signer{key: key, pub: pub}, nil
}

// sign returns header.payload.signature for the JSON of payload.
func (s *signer) sign(payload any) (string, error) {
	h, err := json.Marshal(header{Alg: s.pub.alg.name, Kid: s.pub.kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := digestOf(s.pub.alg.hash, input)
	var sig []byte
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		r, ss, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
		size := s.pub.alg.size
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		ss.FillBytes(sig[size:])
	default:
		if sig, err = s.key.Sign(rand.Reader, digest, s.pub.alg.hash); err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func digestOf(h crypto.Hash, input string) []byte {
	d := h.New()
	d.Write([]byte(input))
	return d.Sum(nil)
}

// jws is a parsed, not yet verified, compact JWS.
type jws struct {
	header  header
	payload []byte
	input   string // header.payload, what the signature covers
	sig     []byte
}

// errNotJWT marks a token that is not a compact JWS at all (a static
// token, say), so another authenticator may take it.
var errNotJWT = errors.New("not a JWT")

func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errNotJWT
	}
	out := &jws{input: parts[0] + "." + parts[1]}
	if err := json.Unmarshal(h, &out.header); err != nil {
		return nil, errNotJWT
	}
	if out.payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return nil, fmt.Errorf("token payload: %w", err)
	}
	if out.sig, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("token signature: %w", err)
	}
	return out, nil
}

// verify checks the signature with the keys of the header's algorithm,
// the one the header names first.
func (t *jws) verify(keys []publicKey) error {
	tried := false
	for _, pass := range []bool{true, false} {
		for _, k := range keys {
			if k.alg.name != t.header.Alg || (k.kid == t.header.Kid) != pass {
				continue
			}
			tried = true
			if t.verifyWith(k) {
				return nil
			}
		}
	}
	if !tried {
		return fmt.Errorf("no key for algorithm %q", t.header.Alg)
	}
	return errors.New("invalid signature")
}

func (t *jws) verifyWith(k publicKey) bool {
	digest := digestOf(k.alg.hash, t.input)
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		size := k.alg.size
		if len(t.sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(t.sig[:size]), new(big.Int).SetBytes(t.sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, k.alg.hash, digest, t.sig) == nil
	}
	return false
}
