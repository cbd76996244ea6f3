package customresource

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/object"
)

// codec keeps custom objects in etcd as Kubernetes does: the object's JSON,
// apiVersion being the CRD's storage version. Its settings are fixed for
// the store's life: a CRD whose spec changes gets a new store.
type codec struct {
	kind           string
	storageVersion string // group/version
	// splitStatus: the storage version has the status subresource, so
	// status is kept apart from content.
	splitStatus bool
	// defaults are the storage version's, applied to every object read.
	defaults func(map[string]any)
}

func (c codec) Encode(obj proto.Message) ([]byte, error) {
	co, ok := obj.(*apiextensionsv1.CustomObject)
	if !ok {
		return nil, fmt.Errorf("a %T is not a custom object", obj)
	}
	co = proto.Clone(co).(*apiextensionsv1.CustomObject)
	co.ApiVersion, co.Kind = c.storageVersion, c.kind
	return kjson.Marshal(co)
}

func (c codec) Decode(data []byte, into proto.Message) error {
	if err := kjson.Unmarshal(data, into); err != nil {
		return err
	}
	object.ClearTypeMeta(into)
	co, ok := into.(*apiextensionsv1.CustomObject)
	if !ok || (c.defaults == nil && (co.Status == nil || c.splitStatus)) {
		return nil
	}
	m, err := unstructured(co)
	if err != nil {
		return err
	}
	if c.defaults != nil {
		c.defaults(m)
	}
	return store(co, m, c.splitStatus)
}
