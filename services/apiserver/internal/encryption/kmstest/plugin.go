// Package kmstest is a KMS v2 plugin for tests: a gRPC server of the
// KeyManagementService on a unix socket that encrypts with local AES-GCM
// keys, one per key ID, and counts its calls.
package kmstest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	kmsapi "k8s.io/kms/apis/v2"
)

// Plugin is a running test plugin.
type Plugin struct {
	kmsapi.UnimplementedKeyManagementServiceServer
	// Endpoint is the plugin's address for the configuration:
	// unix:///<socket>.
	Endpoint string

	mu      sync.Mutex
	keyID   string
	keys    map[string]cipher.AEAD
	healthz string

	// Calls of each method.
	Statuses, Encrypts, Decrypts atomic.Int64
}

// Start serves a plugin whose key ID is "key-1" on a socket in a
// temporary directory until the test ends.
func Start(t testing.TB) *Plugin {
	t.Helper()
	// Unix socket paths are short (108 bytes): t.TempDir() may be too
	// long, so the socket lives in a directory of its own under /tmp.
	dir, err := os.MkdirTemp("", "kmstest")
	if err != nil {
		t.Fatal(err)
	}
	p, stop, err := Serve(filepath.Join(dir, "kms.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); _ = os.RemoveAll(dir) })
	return p
}

// Serve serves a plugin on socket until stop is called.
func Serve(socket string) (p *Plugin, stop func(), err error) {
	p = &Plugin{Endpoint: "unix://" + socket, keys: map[string]cipher.AEAD{}, healthz: "ok"}
	if err := p.Rotate("key-1"); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return nil, nil, err
	}
	s := grpc.NewServer()
	kmsapi.RegisterKeyManagementServiceServer(s, p)
	go func() { _ = s.Serve(l) }()
	return p, s.Stop, nil
}

// Rotate makes keyID, with a new key, the one Status names and Encrypt
// uses; earlier keys still decrypt.
func (p *Plugin) Rotate(keyID string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keyID, p.keys[keyID] = keyID, aead
	return nil
}

// Forget drops a key: what it encrypted no longer decrypts.
func (p *Plugin) Forget(keyID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, keyID)
}

// SetHealthz sets what Status answers as healthz ("ok" when healthy).
func (p *Plugin) SetHealthz(h string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.healthz = h
}

// Status names the current key ID.
func (p *Plugin) Status(context.Context, *kmsapi.StatusRequest) (*kmsapi.StatusResponse, error) {
	p.Statuses.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	return &kmsapi.StatusResponse{Version: "v2", Healthz: p.healthz, KeyId: p.keyID}, nil
}

// Encrypt seals with the current key: nonce ‖ ciphertext ‖ tag.
func (p *Plugin) Encrypt(_ context.Context, req *kmsapi.EncryptRequest) (*kmsapi.EncryptResponse, error) {
	p.Encrypts.Add(1)
	p.mu.Lock()
	keyID, aead := p.keyID, p.keys[p.keyID]
	p.mu.Unlock()
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return &kmsapi.EncryptResponse{Ciphertext: aead.Seal(nonce, nonce, req.GetPlaintext(), []byte(keyID)), KeyId: keyID,
		Annotations: map[string][]byte{"kmstest.skiff.dev": []byte("v1")}}, nil
}

// Decrypt opens with the key the request names.
func (p *Plugin) Decrypt(_ context.Context, req *kmsapi.DecryptRequest) (*kmsapi.DecryptResponse, error) {
	p.Decrypts.Add(1)
	p.mu.Lock()
	aead, ok := p.keys[req.GetKeyId()]
	p.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no key %q", req.GetKeyId())
	}
	ct := req.GetCiphertext()
	if len(ct) < aead.NonceSize() {
		return nil, status.Error(codes.InvalidArgument, "ciphertext too short")
	}
	out, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(req.GetKeyId()))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cannot decrypt: %v", err)
	}
	return &kmsapi.DecryptResponse{Plaintext: out}, nil
}
