package encryption

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
)

// valueCipher encrypts and decrypts a value below its prefix. aad is the
// etcd key, for the ciphers that authenticate it.
type valueCipher interface {
	encrypt(ctx context.Context, plain, aad []byte) ([]byte, error)
	// decrypt reports stale when the value was written under a key that
	// no longer writes (a KMS key ID the plugin has moved on from).
	decrypt(ctx context.Context, data, aad []byte) (plain []byte, stale bool, err error)
}

// cbcCipher is aescbc: a random 16-byte IV, then the PKCS#7-padded value
// in AES-CBC. Nothing is authenticated, as in Kubernetes.
type cbcCipher struct{ block cipher.Block }

func newCBC(key []byte) (*cbcCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &cbcCipher{block: b}, nil
}

func (c *cbcCipher) encrypt(_ context.Context, plain, _ []byte) ([]byte, error) {
	const bs = aes.BlockSize
	pad := bs - len(plain)%bs // 1..16: a full block when already aligned
	out := make([]byte, bs+len(plain)+pad)
	if _, err := rand.Read(out[:bs]); err != nil {
		return nil, fmt.Errorf("aescbc IV: %w", err)
	}
	copy(out[bs:], plain)
	for i := bs + len(plain); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, out[:bs]).CryptBlocks(out[bs:], out[bs:])
	return out, nil
}

var errPadding = errors.New("aescbc: bad padding after decryption (wrong key or damaged value)")

func (c *cbcCipher) decrypt(_ context.Context, data, _ []byte) ([]byte, bool, error) {
	const bs = aes.BlockSize
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, false, fmt.Errorf("aescbc: %d bytes is not an IV and whole blocks", len(data))
	}
	out := make([]byte, len(data)-bs)
	cipher.NewCBCDecrypter(c.block, data[:bs]).CryptBlocks(out, data[bs:])
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, false, errPadding
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, false, errPadding
		}
	}
	return out[:len(out)-pad], false, nil
}

// gcmCipher is aesgcm: a random 12-byte nonce, then AES-GCM's sealed value
// with its 16-byte tag; the etcd key is the additional data.
type gcmCipher struct{ aead cipher.AEAD }

func newGCM(key []byte) (*gcmCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b) // the standard 12-byte nonce
	if err != nil {
		return nil, err
	}
	return &gcmCipher{aead: aead}, nil
}

func (c *gcmCipher) encrypt(_ context.Context, plain, aad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	out := make([]byte, n, n+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("aesgcm nonce: %w", err)
	}
	return c.aead.Seal(out, out[:n], plain, aad), nil
}

func (c *gcmCipher) decrypt(_ context.Context, data, aad []byte) ([]byte, bool, error) {
	n := c.aead.NonceSize()
	if len(data) < n+c.aead.Overhead() {
		return nil, false, fmt.Errorf("aesgcm: %d bytes is shorter than a nonce and a tag", len(data))
	}
	out, err := c.aead.Open(nil, data[:n], data[n:], aad)
	if err != nil {
		return nil, false, fmt.Errorf("aesgcm: %w (wrong key, damaged value, or a value moved from another key)", err)
	}
	return out, false, nil
}

// secretboxCipher is secretbox (XSalsa20-Poly1305): a random 24-byte nonce,
// then the sealed value. secretbox takes no additional data, so, as in
// Kubernetes, the etcd key is not bound.
type secretboxCipher struct{ key [32]byte }

const secretboxNonceSize = 24

func (c *secretboxCipher) encrypt(_ context.Context, plain, _ []byte) ([]byte, error) {
	var nonce [secretboxNonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("secretbox nonce: %w", err)
	}
	return secretbox.Seal(nonce[:], plain, &nonce, &c.key), nil
}

func (c *secretboxCipher) decrypt(_ context.Context, data, _ []byte) ([]byte, bool, error) {
	if len(data) < secretboxNonceSize+secretbox.Overhead {
		return nil, false, fmt.Errorf("secretbox: %d bytes is shorter than a nonce and a tag", len(data))
	}
	var nonce [secretboxNonceSize]byte
	copy(nonce[:], data)
	out, ok := secretbox.Open(nil, data[secretboxNonceSize:], &nonce, &c.key)
	if !ok {
		return nil, false, errors.New("secretbox: authentication failed (wrong key or damaged value)")
	}
	return out, false, nil
}
