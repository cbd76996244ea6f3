// Package storage keeps API objects in etcd: one key per object under
// /registry/<group>/<resource>/[<namespace>/]<name>, values from a codec,
// resourceVersion = the etcd revision that last wrote the key, updates as
// compare-and-swap transactions, and a watch cache per resource so that
// many watchers cost one etcd watch. A Transformer, when set, sits
// between the codec and etcd: encryption at rest.
package storage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/api/meta/v1"
)

// Codec turns objects into stored bytes and back.
type Codec interface {
	Encode(obj proto.Message) ([]byte, error)
	Decode(data []byte, into proto.Message) error
}

// Transformer turns a codec's bytes into the bytes stored under an etcd
// key and back: encryption at rest. The key is the value's authenticated
// data where the transformation authenticates, so a value copied to
// another key does not read.
type Transformer interface {
	TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error)
	// TransformFromStorage reports a value as stale when it was not
	// written the way TransformToStorage writes now (an older key, another
	// provider): an update then writes it even if the object is unchanged.
	TransformFromStorage(ctx context.Context, data []byte, key string) (out []byte, stale bool, err error)
}

// Config describes one resource's storage.
type Config struct {
	Client     *clientv3.Client
	Group      string // "core" for the core group
	Resource   string
	Namespaced bool
	NewFunc    func() proto.Message
	Codec      Codec
	// Transformer, when set, transforms every value between Codec and
	// etcd.
	Transformer Transformer
	// WatchCacheSize is how many recent events the watch cache keeps for
	// watches that resume from a resourceVersion.
	WatchCacheSize int
	// IndexField names a field watchers may select on exactly (for pods
	// "spec.nodeName"), and IndexFunc reads it from an object: the watch
	// cache then hands a change only to the watchers of the object's old
	// and new value, besides the unindexed ones, as Kubernetes' cacher
	// does with its indexed triggers.
	IndexField string
	IndexFunc  func(proto.Message) string
	// NoWatchIndex turns the watch cache's dispatch indexes (namespace and
	// IndexField) off, so every change is matched against every watcher;
	// benchmarks compare the two.
	NoWatchIndex bool
	// ResourceVersionWait bounds how long a read that must be at least as
	// new as a revision waits for the watch cache to reach it (3 s, as
	// Kubernetes' watch cache) before it answers "Too large resource
	// version".
	ResourceVersionWait time.Duration
	// OpTimeout bounds each etcd call (DefaultOpTimeout when zero).
	OpTimeout time.Duration
}

// Store is one resource's storage.
type Store struct {
	cfg    Config
	prefix string
	cache  *cache
	// kv is cfg.Client with a deadline on every call and its failures
	// classified.
	kv boundedKV
}

// IndexField is the field watchers may select on through the index, or "".
func (s *Store) IndexField() string {
	if s.cfg.IndexFunc == nil {
		return "" // the kind has no such field: nothing to index by
	}
	return s.cfg.IndexField
}

// New returns the store; Start must run before Watch is used.
func New(cfg Config) *Store {
	if cfg.WatchCacheSize <= 0 {
		cfg.WatchCacheSize = 2000
	}
	if cfg.ResourceVersionWait <= 0 {
		cfg.ResourceVersionWait = defaultResourceVersionWait
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	s := &Store{cfg: cfg, prefix: "/registry/" + cfg.Group + "/" + cfg.Resource + "/"}
	if cfg.Client != nil {
		s.kv = boundedKV{kv: cfg.Client, timeout: cfg.OpTimeout}
	}
	s.cache = newCache(s)
	return s
}

// Start fills the watch cache and keeps it current until ctx ends.
func (s *Store) Start(ctx context.Context) error { return s.cache.start(ctx) }

// Done is closed when the watch cache has stopped.
func (s *Store) Done() <-chan struct{} { return s.cache.done }

func (s *Store) key(ns, name string) string {
	if !s.cfg.Namespaced {
		return s.prefix + name
	}
	return s.prefix + ns + "/" + name
}

// scopePrefix is the key prefix of one namespace, or of all.
func (s *Store) scopePrefix(ns string) string {
	if !s.cfg.Namespaced || ns == "" {
		return s.prefix
	}
	return s.prefix + ns + "/"
}

// meta returns obj's metadata, creating it if unset.
func meta(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	return m.Mutable(fd).Message().Interface().(*metav1.ObjectMeta)
}

func clearTypeFields(obj proto.Message) {
	m := obj.ProtoReflect()
	for _, name := range []protoreflect.Name{"kind", "api_version"} {
		if fd := m.Descriptor().Fields().ByName(name); fd != nil {
			m.Clear(fd)
		}
	}
}

// encode stores obj without its resourceVersion and type fields: plain is
// the codec's bytes, stored what goes to key in etcd.
func (s *Store) encode(ctx context.Context, key string, obj proto.Message) (plain, stored []byte, err error) {
	c := proto.Clone(obj)
	meta(c).ResourceVersion = ""
	clearTypeFields(c)
	plain, err = s.cfg.Codec.Encode(c)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", s.cfg.Resource, err)
	}
	if s.cfg.Transformer == nil {
		return plain, plain, nil
	}
	stored, err = s.cfg.Transformer.TransformToStorage(ctx, plain, key)
	if err != nil {
		return nil, nil, fmt.Errorf("transform %s for storage: %w", key, err)
	}
	return plain, stored, nil
}

// decode reads the value stored under key and stamps its revision.
func (s *Store) decode(ctx context.Context, key string, data []byte, rev int64) (proto.Message, error) {
	obj, _, _, err := s.read(ctx, key, data, rev)
	return obj, err
}

// read is decode that also returns the codec's bytes and whether the
// transformer calls the value stale.
func (s *Store) read(ctx context.Context, key string, data []byte, rev int64) (obj proto.Message, plain []byte, stale bool, err error) {
	plain = data
	if s.cfg.Transformer != nil {
		if plain, stale, err = s.cfg.Transformer.TransformFromStorage(ctx, data, key); err != nil {
			return nil, nil, false, fmt.Errorf("transform %s from storage: %w", key, err)
		}
	}
	obj, err = s.decodePlain(plain, rev)
	return obj, plain, stale, err
}

// decodePlain decodes the codec's bytes and stamps the revision.
func (s *Store) decodePlain(plain []byte, rev int64) (proto.Message, error) {
	obj := s.cfg.NewFunc()
	if err := s.cfg.Codec.Decode(plain, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.cfg.Resource, err)
	}
	meta(obj).ResourceVersion = strconv.FormatInt(rev, 10)
	return obj, nil
}

// Create stores a new object; its key must be free.
func (s *Store) Create(ctx context.Context, obj proto.Message) (proto.Message, error) {
	m := meta(obj)
	key := s.key(m.GetNamespace(), m.GetName())
	plain, data, err := s.encode(ctx, key, obj)
	if err != nil {
		return nil, err
	}
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		return nil, &Error{Code: CodeAlreadyExists, Key: key}
	}
	return s.decodePlain(plain, resp.Header.Revision)
}

// Get reads one object.
func (s *Store) Get(ctx context.Context, ns, name string) (proto.Message, error) {
	key := s.key(ns, name)
	resp, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, &Error{Code: CodeNotFound, Key: key}
	}
	return s.decode(ctx, key, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// GetAt reads one object as a get with resourceVersion reads it: "" the
// latest from etcd (a quorum read), "0" whatever the watch cache holds,
// "N" from the watch cache once it has reached N (not older than N),
// "Too large resource version" when it does not in time.
func (s *Store) GetAt(ctx context.Context, ns, name, resourceVersion string) (proto.Message, error) {
	if resourceVersion == "" {
		return s.Get(ctx, ns, name)
	}
	rev, err := parseRevision(resourceVersion)
	if err != nil {
		return nil, err
	}
	key := s.key(ns, name)
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitFresh(ctx, rev); err != nil {
		return nil, err
	}
	obj, ok := c.objects[key]
	if !ok {
		return nil, &Error{Code: CodeNotFound, Key: key}
	}
	return proto.Clone(obj), nil
}

// CurrentRevision is etcd's current revision, read with a quorum read: a
// watch from it starts at the most recent state.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.kv.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read the current revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// parseRevision reads a resourceVersion; "" and "0" are 0.
func parseRevision(resourceVersion string) (int64, error) {
	if resourceVersion == "" || resourceVersion == "0" {
		return 0, nil
	}
	n, err := strconv.ParseInt(resourceVersion, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("invalid resource version: %q", resourceVersion)
	}
	return n, nil
}

// Update reads the object, lets tryUpdate compute the next version and
// writes it if nobody wrote in between; a lost race reads and tries again.
// A next version equal to the stored one is not written, unless the
// transformer calls the stored value stale: rewriting an unchanged object
// re-encrypts it with the current key.
func (s *Store) Update(ctx context.Context, ns, name string, tryUpdate func(current proto.Message) (proto.Message, error)) (proto.Message, error) {
	key := s.key(ns, name)
	for {
		resp, err := s.kv.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, &Error{Code: CodeNotFound, Key: key}
		}
		kv := resp.Kvs[0]
		current, currentPlain, stale, err := s.read(ctx, key, kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		next, err := tryUpdate(proto.Clone(current))
		if err != nil {
			return nil, err
		}
		plain, data, err := s.encode(ctx, key, next)
		if err != nil {
			return nil, err
		}
		if !stale && bytes.Equal(plain, currentPlain) {
			return current, nil
		}
		txn, err := s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, string(data))).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if txn.Succeeded {
			return s.decodePlain(plain, txn.Header.Revision)
		}
	}
}

// Delete removes the object if precondition accepts its current state and
// returns that state, stamped with the deletion's revision.
func (s *Store) Delete(ctx context.Context, ns, name string, precondition func(current proto.Message) error) (proto.Message, error) {
	key := s.key(ns, name)
	for {
		resp, err := s.kv.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, &Error{Code: CodeNotFound, Key: key}
		}
		kv := resp.Kvs[0]
		current, err := s.decode(ctx, key, kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		if precondition != nil {
			if err := precondition(current); err != nil {
				return nil, err
			}
		}
		txn, err := s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if txn.Succeeded {
			meta(current).ResourceVersion = strconv.FormatInt(txn.Header.Revision, 10)
			return current, nil
		}
	}
}
