package encryption

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	kmsapi "k8s.io/kms/apis/v2"
)

// KMS v2 as Kubernetes runs it (since 1.29, with its KDF): the plugin
// holds the key encryption key (KEK) and is asked, through Status, for
// the ID of the key it encrypts with now. For each key ID the apiserver
// makes one 32-byte seed and has the plugin encrypt it (Encrypt); every
// write then derives a fresh AES-256-GCM key from the seed and 32 random
// bytes (HKDF-SHA256 Expand), seals the value with a random 12-byte nonce
// and the etcd key as additional data, and stores an EncryptedObject:
// encryptedData = info(32) ‖ nonce(12) ‖ ciphertext ‖ tag, with the key
// ID, the encrypted seed and the plugin's annotations. Reads ask the
// plugin to decrypt a seed (Decrypt) once and keep it.
const (
	// kmsHealthyInterval: how often Status is called while it succeeds;
	// a new key ID is picked up within this.
	kmsHealthyInterval = time.Minute
	// kmsFailingInterval: how often it is called again after a failure.
	kmsFailingInterval = 10 * time.Second
	// kmsWriteTTL: writes go on with the last seed this long after the
	// last successful Status, then fail until the plugin answers.
	kmsWriteTTL = 3 * time.Minute
	// kmsSeedSize and kmsInfoSize: the seed, and the random info each
	// value's key is derived with (the derived key is 32 bytes too).
	kmsSeedSize = 32
	kmsInfoSize = 32
	// kmsCacheTTL: a decrypted seed (or DEK) unused this long is dropped.
	kmsCacheTTL = 24 * time.Hour
)

// kmsProvider is one kms entry of the configuration.
type kmsProvider struct {
	name    string
	timeout time.Duration
	client  kmsapi.KeyManagementServiceClient
	now     func() time.Time

	// state is what writes use; nil until the plugin first answers.
	state atomic.Pointer[kmsWriteState]
	// lastErr is the last Status round's failure, for write errors.
	lastErr atomic.Pointer[error]

	checkMu sync.Mutex
	version string // the API version of the first Status answer

	cacheMu sync.Mutex
	cache   map[string]*kmsCached // by kmsCacheKey
}

// kmsWriteState is the seed writes derive keys from.
type kmsWriteState struct {
	seed          []byte
	keyID         string
	encryptedSeed []byte
	annotations   map[string][]byte
	cacheKey      string
	expires       time.Time
}

// kmsCached is a plugin-decrypted seed or DEK.
type kmsCached struct {
	secret []byte
	used   time.Time
}

// newKMSProvider connects (lazily) to the plugin's socket.
func newKMSProvider(ctx context.Context, c *KMSConfiguration) (*kmsProvider, error) {
	path, err := socketPath(c.Endpoint)
	if err != nil {
		return nil, err
	}
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	conn, err := grpc.NewClient("passthrough:///kms-plugin",
		grpc.WithAuthority("localhost"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dial),
		// A plugin that starts after the apiserver is waited for, within
		// the timeout of each call.
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		return nil, fmt.Errorf("KMS v2 provider %q: %w", c.Name, err)
	}
	go func() {
		<-ctx.Done()
		_ = conn.Close()
	}()
	return newKMSProviderWithClient(c.Name, kmsapi.NewKeyManagementServiceClient(conn), c.Timeout.Duration), nil
}

func newKMSProviderWithClient(name string, client kmsapi.KeyManagementServiceClient, timeout time.Duration) *kmsProvider {
	return &kmsProvider{name: name, timeout: timeout, client: client, now: time.Now, cache: map[string]*kmsCached{}}
}

// start asks the plugin once, then polls its status until ctx ends.
func (p *kmsProvider) start(ctx context.Context) {
	err := p.check(ctx)
	if err != nil {
		slog.Warn("KMS v2 plugin not ready; asking again in the background", "provider", p.name, "err", err)
	}
	go func() {
		for {
			interval := kmsHealthyInterval
			if err != nil {
				interval = kmsFailingInterval
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
			if err = p.check(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("KMS v2 plugin status", "provider", p.name, "err", err)
			}
		}
	}()
}

// check calls Status and, when the key ID is new, makes a seed for it;
// a success extends how long writes may use the seed.
func (p *kmsProvider) check(ctx context.Context) (err error) {
	p.checkMu.Lock()
	defer p.checkMu.Unlock()
	defer func() {
		if err != nil {
			err = fmt.Errorf("KMS v2 provider %q: %w", p.name, err)
		}
		p.lastErr.Store(&err)
	}()
	expires := p.now().Add(kmsWriteTTL)
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	status, err := p.client.Status(cctx, &kmsapi.StatusRequest{})
	cancel()
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	var errs []error
	if status.GetHealthz() != "ok" {
		errs = append(errs, fmt.Errorf("the plugin's healthz is %q, not \"ok\"", status.GetHealthz()))
	}
	switch v := status.GetVersion(); {
	case v != "v2" && v != "v2beta1":
		errs = append(errs, fmt.Errorf("the plugin speaks KMS API %q, not v2", v))
	case p.version == "":
		p.version = v
	case p.version != v:
		errs = append(errs, fmt.Errorf("the plugin's API version changed from %s to %s", p.version, v))
	}
	if err := validateKeyID(status.GetKeyId()); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	keyID := status.GetKeyId()
	if st := p.state.Load(); st != nil && st.keyID == keyID {
		next := *st
		next.expires = expires
		p.state.Store(&next)
		return nil
	}
	// A new key ID (or the first): a new seed, encrypted by the plugin.
	seed := make([]byte, kmsSeedSize)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	cctx, cancel = context.WithTimeout(ctx, p.timeout)
	resp, err := p.client.Encrypt(cctx, &kmsapi.EncryptRequest{Plaintext: seed, Uid: newUID()})
	cancel()
	if err != nil {
		return fmt.Errorf("encrypt a new seed: %w", err)
	}
	if resp.GetKeyId() != keyID {
		return fmt.Errorf("the plugin encrypted with key ID %s while its status names %s", keyIDHash(resp.GetKeyId()), keyIDHash(keyID))
	}
	o := encryptedObject{EncryptedData: []byte{0}, KeyID: keyID, EncryptedDEKSource: resp.GetCiphertext(),
		Annotations: resp.GetAnnotations(), SourceType: sourceHKDFSeed}
	if err := o.validate(); err != nil {
		return fmt.Errorf("the plugin's answer to encrypt: %w", err)
	}
	st := &kmsWriteState{seed: seed, keyID: keyID, encryptedSeed: o.EncryptedDEKSource, annotations: o.Annotations,
		cacheKey: kmsCacheKey(&o), expires: expires}
	p.remember(st.cacheKey, seed)
	p.state.Store(st)
	slog.Info("KMS v2 provider has a new seed", "provider", p.name, "keyID", keyIDHash(keyID))
	return nil
}

func (p *kmsProvider) encrypt(_ context.Context, plain, aad []byte) ([]byte, error) {
	st := p.state.Load()
	if st == nil {
		return nil, fmt.Errorf("no data encryption key yet: the plugin has not answered (%v)", p.lastError())
	}
	if now := p.now(); now.After(st.expires) {
		return nil, fmt.Errorf("the data encryption key expired at %s: the plugin has not answered since (%v)",
			st.expires.Format(time.RFC3339), p.lastError())
	}
	buf := make([]byte, kmsInfoSize+12, kmsInfoSize+12+len(plain)+16)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	aead, err := deriveGCM(st.seed, buf[:kmsInfoSize])
	if err != nil {
		return nil, err
	}
	sealed := aead.Seal(buf, buf[kmsInfoSize:], plain, aad)
	o := encryptedObject{EncryptedData: sealed, KeyID: st.keyID, EncryptedDEKSource: st.encryptedSeed,
		Annotations: st.annotations, SourceType: sourceHKDFSeed}
	return o.marshal(), nil
}

func (p *kmsProvider) decrypt(ctx context.Context, data, aad []byte) ([]byte, bool, error) {
	o, err := unmarshalEncryptedObject(data)
	if err != nil {
		return nil, false, err
	}
	if err := o.validate(); err != nil {
		return nil, false, fmt.Errorf("EncryptedObject: %w", err)
	}
	secret, err := p.secret(ctx, o)
	if err != nil {
		return nil, false, err
	}
	var aead cipher.AEAD
	sealed := o.EncryptedData
	switch o.SourceType {
	case sourceHKDFSeed:
		if len(secret) < kmsSeedSize {
			return nil, false, fmt.Errorf("the decrypted seed is %d bytes, shorter than %d", len(secret), kmsSeedSize)
		}
		if len(sealed) < kmsInfoSize {
			return nil, false, errors.New("encryptedData is shorter than its KDF info")
		}
		if aead, err = deriveGCM(secret, sealed[:kmsInfoSize]); err != nil {
			return nil, false, err
		}
		sealed = sealed[kmsInfoSize:]
	case sourceAESGCMKey:
		b, err := aes.NewCipher(secret)
		if err != nil {
			return nil, false, fmt.Errorf("the decrypted DEK: %w", err)
		}
		if aead, err = cipher.NewGCM(b); err != nil {
			return nil, false, err
		}
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, false, errors.New("encryptedData is shorter than a nonce and a tag")
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, false, fmt.Errorf("%w (damaged value, or a value moved from another key)", err)
	}
	st := p.state.Load()
	stale := st == nil || o.KeyID != st.keyID || o.SourceType != sourceHKDFSeed
	return out, stale, nil
}

// secret is the plaintext of o's encryptedDEKSource: from the cache, or
// from the plugin.
func (p *kmsProvider) secret(ctx context.Context, o *encryptedObject) ([]byte, error) {
	key := kmsCacheKey(o)
	if st := p.state.Load(); st != nil && st.cacheKey == key {
		return st.seed, nil
	}
	p.cacheMu.Lock()
	if c, ok := p.cache[key]; ok {
		c.used = p.now()
		p.cacheMu.Unlock()
		return c.secret, nil
	}
	p.cacheMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.client.Decrypt(cctx, &kmsapi.DecryptRequest{Ciphertext: o.EncryptedDEKSource, Uid: newUID(),
		KeyId: o.KeyID, Annotations: o.Annotations})
	if err != nil {
		return nil, fmt.Errorf("the plugin could not decrypt the data encryption key (key ID %s): %w", keyIDHash(o.KeyID), err)
	}
	p.remember(key, resp.GetPlaintext())
	return resp.GetPlaintext(), nil
}

// remember caches a decrypted secret and drops those long unused.
func (p *kmsProvider) remember(key string, secret []byte) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	now := p.now()
	for k, c := range p.cache {
		if now.Sub(c.used) > kmsCacheTTL {
			delete(p.cache, k)
		}
	}
	p.cache[key] = &kmsCached{secret: secret, used: now}
}

func (p *kmsProvider) lastError() error {
	if e := p.lastErr.Load(); e != nil && *e != nil {
		return *e
	}
	return errors.New("no status call has finished")
}

// deriveGCM is AES-256-GCM under HKDF-SHA256-Expand(seed, info).
func deriveGCM(seed, info []byte) (cipher.AEAD, error) {
	key, err := hkdf.Expand(sha256.New, seed, string(info), 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// kmsCacheKey identifies an encrypted seed or DEK: its type, ciphertext,
// key ID and annotations, each length-prefixed.
func kmsCacheKey(o *encryptedObject) string {
	var b []byte
	b = binary.AppendUvarint(b, uint64(o.SourceType))
	field := func(v []byte) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	field(o.EncryptedDEKSource)
	field([]byte(o.KeyID))
	keys := make([]string, 0, len(o.Annotations))
	for k := range o.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		field([]byte(k))
		field(o.Annotations[k])
	}
	return string(b)
}

// keyIDHash names a key ID in logs and errors without showing it.
func keyIDHash(id string) string {
	if id == "" {
		return `""`
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(id)))
}

// newUID is a random (version 4) UUID, the uid of a plugin call.
func newUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
