// Package serviceaccount issues and checks service-account tokens the way
// Kubernetes does: JWTs signed with the apiserver's key (ES256 for ECDSA
// P-256, RS256 for RSA) carrying the issuer, the audiences, the lifetime
// and a kubernetes.io claim that names the account and the Pod or Secret
// the token is bound to. It serves serviceaccounts/token (TokenRequest),
// authenticates bearer tokens, and publishes the OpenID discovery
// document and key set.
package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// algorithm is a JWS signature algorithm and what it needs of a key.
type algorithm struct {
	name string
	// size is the byte length of r and of s in an ECDSA signature; 0 for RSA.
	size int
	hash crypto.Hash
}

var (
	es256 = algorithm{"ES256", 32, crypto.SHA256}
	es384 = algorithm{"ES384", 48, crypto.SHA384}
	es512 = algorithm{"ES512", 66, crypto.SHA512}
	rs256 = algorithm{"RS256", 0, crypto.SHA256}
)

// algorithmOf picks the algorithm for a public key, as Kubernetes does:
// the ECDSA curve decides, RSA keys sign RS256.
func algorithmOf(pub crypto.PublicKey) (algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return es256, nil
		case elliptic.P384():
			return es384, nil
		case elliptic.P521():
			return es512, nil
		}
		return algorithm{}, fmt.Errorf("ECDSA curve %s is not supported (want P-256, P-384 or P-521)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		return rs256, nil
	}
	return algorithm{}, fmt.Errorf("%T keys are not supported (want ECDSA or RSA)", pub)
}

// publicKey is a verification key with its algorithm and key id.
type publicKey struct {
	key crypto.PublicKey
	alg algorithm
	kid string
}

func newPublicKey(pub crypto.PublicKey) (publicKey, error) {
	alg, err := algorithmOf(pub)
	if err != nil {
		return publicKey{}, err
	}
	kid, err := keyID(pub)
	if err != nil {
		return publicKey{}, err
	}
	return publicKey{key: pub, alg: alg, kid: kid}, nil
}

// keyID is Kubernetes' key id: the unpadded base64url SHA-256 of the
// public key's PKIX encoding.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// LoadSigningKey reads the first private key (EC, RSA or PKCS#8) of a PEM
// file.
func LoadSigningKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		key, ok, err := parsePrivate(block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ok {
			if _, err := algorithmOf(key.Public()); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("%s: no PEM private key", path)
}

// LoadPublicKeys reads every key of PEM files that hold public keys,
// certificates or private keys (whose public halves count).
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		n := len(keys)
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			pub, err := parsePublic(block)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if pub != nil {
				keys = append(keys, pub)
			}
		}
		if len(keys) == n {
			return nil, fmt.Errorf("%s: no PEM key", path)
		}
	}
	return keys, nil
}

func parsePrivate(block *pem.Block) (crypto.Signer, bool, error) {
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, false, fmt.Errorf("%s: %T cannot sign", block.Type, key)
	}
	return signer, true, nil
}

func parsePublic(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	key, ok, err := parsePrivate(block)
	if err != nil || !ok {
		return nil, err
	}
	return key.Public(), nil
}

// errNoKeys is returned when there is nothing to verify tokens with.
var errNoKeys = errors.New("no service account verification keys")
