package encryption

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"skiff.dev/services/apiserver/internal/storage"
)

// Transformer transforms one resource's values between the codec and
// etcd; the etcd key is the authenticated data of the ciphers that take
// some.
type Transformer = storage.Transformer

// encryptedPrefix starts every encrypted value; identity never reads one.
const encryptedPrefix = "k8s:enc:"

// Prefixes of the providers, before the key or KMS provider name.
const (
	prefixAESCBC    = "k8s:enc:aescbc:v1:"
	prefixAESGCM    = "k8s:enc:aesgcm:v1:"
	prefixSecretbox = "k8s:enc:secretbox:v1:"
	prefixKMSv2     = "k8s:enc:kms:v2:"
)

// entry is one way to read values: a provider's key (or identity, with
// no prefix) behind its full prefix.
type entry struct {
	prefix string
	name   string // for errors: aescbc key "key1"
	cipher valueCipher
}

// chain is a resource's providers, flattened to their keys in order: the
// first writes, and a value read by any other is stale.
type chain struct{ entries []entry }

var _ Transformer = (*chain)(nil)

func (c *chain) TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error) {
	w := c.entries[0]
	if w.cipher == nil {
		return data, nil
	}
	out, err := w.cipher.encrypt(ctx, data, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("encrypt with %s: %w", w.name, err)
	}
	return append([]byte(w.prefix), out...), nil
}

func (c *chain) TransformFromStorage(ctx context.Context, data []byte, key string) ([]byte, bool, error) {
	var errs []error
	for i, e := range c.entries {
		if e.cipher == nil { // identity
			if bytes.HasPrefix(data, []byte(encryptedPrefix)) {
				continue
			}
			return data, i != 0, nil
		}
		if !bytes.HasPrefix(data, []byte(e.prefix)) {
			continue
		}
		// Prefixes may repeat (one key name in two providers being
		// rotated): a failure goes on to the next match.
		out, stale, err := e.cipher.decrypt(ctx, data[len(e.prefix):], []byte(key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.name, err))
			continue
		}
		return out, stale || i != 0, nil
	}
	if len(errs) > 0 {
		return nil, false, fmt.Errorf("no configured key decrypts the value: %w", errors.Join(errs...))
	}
	if !bytes.HasPrefix(data, []byte(encryptedPrefix)) {
		return nil, false, errors.New("the value is not encrypted, and identity is not among the resource's providers")
	}
	return nil, false, fmt.Errorf("the value's prefix %q matches no configured provider", valuePrefix(data))
}

// valuePrefix is k8s:enc:<provider>:<version>:<key or name>: of an
// encrypted value, for errors.
func valuePrefix(data []byte) string {
	end := 0
	for n := 0; n < 5; n++ {
		i := bytes.IndexByte(data[end:], ':')
		if i < 0 || i > 256 {
			break
		}
		end += i + 1
	}
	return strings.ToValidUTF8(string(data[:end]), "?")
}

// Set is the transformers of a configuration, by resource.
type Set struct {
	byResource map[groupResource]*chain
	// unlisted reads what identity reads: a resource the configuration
	// does not name is stored as is.
	unlisted *chain
	kms      []*kmsProvider
}

// For returns the transformer of a resource (group "" is the core
// group): its exact entry, else its group's *.<group>, else *.*, else
// identity. A nil Set has none.
func (s *Set) For(group, resource string) Transformer {
	if s == nil {
		return nil
	}
	for _, gr := range []groupResource{{group, resource}, {group, "*"}, anyResource} {
		if c, ok := s.byResource[gr]; ok {
			return c
		}
	}
	return s.unlisted
}

// Load reads a configuration file and builds its transformers; KMS
// plugins are called until ctx ends.
func Load(ctx context.Context, path string) (*Set, error) {
	c, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return New(ctx, c)
}

// New builds a validated configuration's transformers. Each KMS v2
// provider asks its plugin for a key ID and a data encryption key once
// before New returns (a plugin that is not up yet is asked again in the
// background; until it answers, writes through it fail), then polls its
// status until ctx ends.
func New(ctx context.Context, c *Configuration) (*Set, error) {
	s := &Set{byResource: map[groupResource]*chain{}, unlisted: &chain{entries: []entry{{name: "identity"}}}}
	for i, rc := range c.Resources {
		var entries []entry
		for j, p := range rc.Providers {
			es, err := s.providerEntries(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("resources[%d].providers[%d]: %w", i, j, err)
			}
			entries = append(entries, es...)
		}
		for _, r := range rc.Resources {
			gr := parseGroupResource(r)
			if ch, ok := s.byResource[gr]; ok {
				// Listed again in a later list: its providers follow,
				// as in Kubernetes.
				ch.entries = append(ch.entries, entries...)
				continue
			}
			s.byResource[gr] = &chain{entries: append([]entry(nil), entries...)}
		}
	}
	for _, k := range s.kms {
		k.start(ctx)
	}
	return s, nil
}

func (s *Set) providerEntries(ctx context.Context, p ProviderConfiguration) ([]entry, error) {
	switch {
	case p.Identity != nil:
		return []entry{{name: "identity"}}, nil
	case p.AESCBC != nil:
		return keyEntries("aescbc", prefixAESCBC, p.AESCBC.Keys, func(k []byte) (valueCipher, error) { return newCBC(k) })
	case p.AESGCM != nil:
		return keyEntries("aesgcm", prefixAESGCM, p.AESGCM.Keys, func(k []byte) (valueCipher, error) { return newGCM(k) })
	case p.Secretbox != nil:
		return keyEntries("secretbox", prefixSecretbox, p.Secretbox.Keys, func(k []byte) (valueCipher, error) {
			if len(k) != 32 {
				return nil, fmt.Errorf("a secretbox key is 32 bytes, not %d", len(k))
			}
			c := &secretboxCipher{}
			copy(c.key[:], k)
			return c, nil
		})
	case p.KMS != nil:
		k, err := newKMSProvider(ctx, p.KMS)
		if err != nil {
			return nil, err
		}
		s.kms = append(s.kms, k)
		return []entry{{prefix: prefixKMSv2 + k.name + ":", name: fmt.Sprintf("KMS v2 provider %q", k.name), cipher: k}}, nil
	}
	return nil, errors.New("no provider")
}

func keyEntries(provider, prefix string, keys []Key, build func([]byte) (valueCipher, error)) ([]entry, error) {
	var out []entry
	for _, k := range keys {
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("%s key %q: %w", provider, k.Name, err)
		}
		c, err := build(secret)
		if err != nil {
			return nil, fmt.Errorf("%s key %q: %w", provider, k.Name, err)
		}
		out = append(out, entry{prefix: prefix + k.Name + ":", name: fmt.Sprintf("%s key %q", provider, k.Name), cipher: c})
	}
	return out, nil
}
