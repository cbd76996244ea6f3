package storage

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/etcd"
)

// tagTransformer stores values behind a tag, binds them to their key,
// and calls values of an older tag stale.
type tagTransformer struct{ tag, old string }

func (t tagTransformer) TransformToStorage(_ context.Context, data []byte, key string) ([]byte, error) {
	return append([]byte(t.tag+"|"+key+"|"), data...), nil
}

func (t tagTransformer) TransformFromStorage(_ context.Context, data []byte, key string) ([]byte, bool, error) {
	for _, tag := range []string{t.tag, t.old} {
		if p := []byte(tag + "|" + key + "|"); tag != "" && bytes.HasPrefix(data, p) {
			return data[len(p):], tag != t.tag, nil
		}
	}
	return nil, false, errors.New("unknown tag or key")
}

func TestTransformer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = e.Close() })
	open := func(tr Transformer) *Store {
		s := New(Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
			NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}, Transformer: tr})
		sctx, stop := context.WithCancel(ctx)
		if err := s.Start(sctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stop(); <-s.Done() })
		return s
	}
	const key = "/registry/test/things/a/x"
	raw := func() string {
		resp, err := e.Client().Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("raw get: %v", err)
		}
		return string(resp.Kvs[0].Value)
	}
	v1 := open(tagTransformer{tag: "v1"})
	created, err := v1.Create(ctx, obj("a", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := raw(); !bytes.HasPrefix([]byte(got), []byte("v1|"+key+"|")) {
		t.Fatalf("stored %q", got)
	}
	if _, err := v1.Get(ctx, "a", "x"); err != nil {
		t.Fatal(err)
	}
	if l, err := v1.List(ctx, "a", ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Fatalf("list: %v", err)
	}
	// An unchanged object of the current tag is not written again.
	same, err := v1.Update(ctx, "a", "x", func(cur proto.Message) (proto.Message, error) { return cur, nil })
	if err != nil || meta(same).GetResourceVersion() != meta(created).GetResourceVersion() {
		t.Fatalf("no-op update wrote: %v %v", meta(same).GetResourceVersion(), err)
	}
	// After a rotation the same no-op update rewrites the stale value.
	v2 := open(tagTransformer{tag: "v2", old: "v1"})
	rewritten, err := v2.Update(ctx, "a", "x", func(cur proto.Message) (proto.Message, error) { return cur, nil })
	if err != nil || meta(rewritten).GetResourceVersion() == meta(created).GetResourceVersion() {
		t.Fatalf("stale value was not rewritten: %v %v", meta(rewritten).GetResourceVersion(), err)
	}
	if got := raw(); !bytes.HasPrefix([]byte(got), []byte("v2|")) {
		t.Fatalf("after rewrite stored %q", got)
	}
	// A store that cannot read the value says which key; its watch
	// cache does not start.
	v3 := New(Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
		NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}, Transformer: tagTransformer{tag: "v3"}})
	if err := v3.Start(ctx); err == nil {
		t.Fatal("a watch cache started over values it cannot read")
	}
	if _, err := v3.Get(ctx, "a", "x"); err == nil ||
		err.Error() != "transform "+key+" from storage: unknown tag or key" {
		t.Fatalf("unreadable value: %v", err)
	}
	if _, err := v2.Delete(ctx, "a", "x", nil); err != nil {
		t.Fatal(err)
	}
}
