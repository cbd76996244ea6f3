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

// List lists every object in pages of client.ListPageSize, as client-go's
// reflector pages its lists (a list of any size stays under the gRPC
// message limit), all at the resourceVersion of the first page.
func (s resourceSource[T, L]) List(ctx context.Context, opts client.ListOptions) ([]T, string, error) {
	if opts.Limit == 0 {
		opts.Limit = client.ListPageSize
	}
	var items []T
	var rv string
	for {
		list, err := s.r.List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		m := list.ProtoReflect()
		fields := m.Descriptor().Fields()
		meta, _ := m.Get(fields.ByName("metadata")).Message().Interface().(*metav1.ListMeta)
		if rv == "" {
			rv = meta.GetResourceVersion()
		}
		raw := m.Get(fields.ByName("items")).List()
		for i := 0; i < raw.Len(); i++ {
			items = append(items, raw.Get(i).Message().Interface().(T))
		}
		if meta.GetContinue() == "" {
			return items, rv, nil
		}
		opts.Continue = meta.GetContinue()
	}
}

func (s resourceSource[T, L]) Watch(ctx context.Context, opts client.ListOptions) (client.Watcher[T], error) {
	return s.r.Watch(ctx, opts)
}
