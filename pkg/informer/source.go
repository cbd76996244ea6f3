package informer

import (
	"context"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// resourceSource reads through pkg/client.
type resourceSource[T, L proto.Message] struct {
	r *client.Resource[T, L]
}

// FromResource makes a typed client resource an informer's source.
func FromResource[T, L proto.Message](r *client.Resource[T, L]) Source[T] {
	return resourceSource[T, L]{r: r}
}

func (s resourceSource[T, L]) List(ctx context.Context, opts client.ListOptions) ([]T, string, error) {
	list, err := s.r.List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	m := list.ProtoReflect()
	fields := m.Descriptor().Fields()
	var rv string
	if meta, ok := m.Get(fields.ByName("metadata")).Message().Interface().(*metav1.ListMeta); ok {
		rv = meta.GetResourceVersion()
	}
	raw := m.Get(fields.ByName("items")).List()
	items := make([]T, raw.Len())
	for i := range items {
		items[i] = raw.Get(i).Message().Interface().(T)
	}
	return items, rv, nil
}

func (s resourceSource[T, L]) Watch(ctx context.Context, opts client.ListOptions) (client.Watcher[T], error) {
	return s.r.Watch(ctx, opts)
}
