package customresource

import (
	"fmt"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/object"
)

// codec keeps custom objects in etcd as Kubernetes does: the object's JSON,
// apiVersion being the CRD's storage version at the time of the write.
type codec struct {
	kind string
	live *liveSettings
}

// liveSettings are what a CRD update may change under a running store.
type liveSettings struct {
	storageVersion atomic.Pointer[string] // group/version
	// splitStatus: the resource has the status subresource, so status is
	// kept apart from content.
	splitStatus atomic.Bool
	// defaults are the storage version's, applied to every object read
	// (fixed for the store's life: a changed CRD gets a new store).
	defaults func(map[string]any)
}

func (c codec) Encode(obj proto.Message) ([]byte, error) {
	co, ok := obj.(*apiextensionsv1.CustomObject)
	if !ok {
		return nil, fmt.Errorf("a %T is not a custom object", obj)
	}
	co = proto.Clone(co).(*apiextensionsv1.CustomObject)
	co.ApiVersion, co.Kind = *c.live.storageVersion.Load(), c.kind
	return kjson.Marshal(co)
}

func (c codec) Decode(data []byte, into proto.Message) error {
	if err := kjson.Unmarshal(data, into); err != nil {
		return err
	}
	object.ClearTypeMeta(into)
	co, ok := into.(*apiextensionsv1.CustomObject)
	if !ok || (c.live.defaults == nil && (co.Status == nil || c.live.splitStatus.Load())) {
		return nil
	}
	m, err := unstructured(co)
	if err != nil {
		return err
	}
	if c.live.defaults != nil {
		c.live.defaults(m)
	}
	return store(co, m, c.live.splitStatus.Load())
}
