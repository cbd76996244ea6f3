// Package patchmeta tells strategic merge patch how each field of a
// contract merges: the merge keys and strategies that Kubernetes keeps in Go
// struct tags are read here from the protobuf descriptors and the
// skiff.schema.v1 field options.
package patchmeta

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	schemav1 "skiff.dev/api/schema/v1"
)

// For returns the patch metadata of a top-level message.
func For(m proto.Message) strategicpatch.LookupPatchMeta {
	return node{md: m.ProtoReflect().Descriptor()}
}

// node is one JSON value's type: a message, a map of values, any JSON
// value, or a leaf (scalars and the messages that are scalars in JSON).
type node struct {
	md    protoreflect.MessageDescriptor // set for messages
	value *node                          // set for maps: the value type
	any   bool                           // set for any JSON value
	name  string
}

// Messages written as JSON scalars or opaque objects: patches replace them.
var leaves = map[protoreflect.FullName]bool{
	"google.protobuf.Timestamp":  true,
	"skiff.meta.v1.Quantity":     true,
	"skiff.meta.v1.IntOrString":  true,
	"skiff.meta.v1.RawExtension": true,
	"skiff.meta.v1.FieldsV1":     true,
}

// Messages whose JSON may be a value of more than one type (a schema or a
// boolean, a schema or a list): Kubernetes publishes them without a type,
// and a patch computed from that schema merges their objects key by key,
// without merge keys, and replaces everything else.
var anyValues = map[protoreflect.FullName]bool{
	"skiff.apiextensions.v1.JSON":                         true,
	"skiff.apiextensions.v1.JSONSchemaPropsOrArray":       true,
	"skiff.apiextensions.v1.JSONSchemaPropsOrBool":        true,
	"skiff.apiextensions.v1.JSONSchemaPropsOrStringArray": true,
}

// isBareList tells a message written as a bare list of scalars (an
// ExtraValue): a patch replaces it, as it does any list of scalars without
// a patch strategy.
func isBareList(md protoreflect.MessageDescriptor) bool {
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, schemav1.E_K8SMessage) {
		return false
	}
	return proto.GetExtension(opts, schemav1.E_K8SMessage).(*schemav1.Message).GetBareList()
}

func typeOf(fd protoreflect.FieldDescriptor) node {
	if md := fd.Message(); md != nil && anyValues[md.FullName()] {
		return node{any: true, name: string(md.FullName())}
	}
	if fd.IsMap() {
		v := typeOf(fd.MapValue())
		return node{value: &v, name: "map"}
	}
	if md := fd.Message(); md != nil && !leaves[md.FullName()] && !isBareList(md) {
		return node{md: md, name: string(md.FullName())}
	}
	return node{name: fd.Kind().String()}
}

// LookupPatchMetadataForStruct finds the field named key (its JSON name).
func (n node) LookupPatchMetadataForStruct(key string) (strategicpatch.LookupPatchMeta, strategicpatch.PatchMeta, error) {
	var pm strategicpatch.PatchMeta
	if n.any {
		return n, pm, nil
	}
	if n.value != nil {
		return *n.value, pm, nil
	}
	if n.md == nil {
		return nil, pm, fmt.Errorf("unable to find api field %q in %s", key, n.name)
	}
	fd := findField(n.md, key)
	if fd == nil {
		return nil, pm, fmt.Errorf("unable to find api field in struct %s for the json field %q", n.md.Name(), key)
	}
	if opts := options(fd); opts != nil {
		if s := opts.GetPatchStrategy(); s != "" {
			pm.SetPatchStrategies(strings.Split(s, ","))
		}
		pm.SetPatchMergeKey(opts.GetPatchMergeKey())
	}
	return typeOf(fd), pm, nil
}

// LookupPatchMetadataForSlice finds the list field named key and returns
// its element type.
func (n node) LookupPatchMetadataForSlice(key string) (strategicpatch.LookupPatchMeta, strategicpatch.PatchMeta, error) {
	if n.md != nil {
		if fd := findField(n.md, key); fd != nil && !fd.IsList() && fd.Kind() != protoreflect.BytesKind {
			return nil, strategicpatch.PatchMeta{}, fmt.Errorf("expected slice or array type for field %q of %s", key, n.md.Name())
		}
	}
	return n.LookupPatchMetadataForStruct(key)
}

// Name names the type, for error messages.
func (n node) Name() string { return n.name }

func options(fd protoreflect.FieldDescriptor) *schemav1.Field {
	opts := fd.Options()
	if opts == nil || !proto.HasExtension(opts, schemav1.E_K8S) {
		return nil
	}
	return proto.GetExtension(opts, schemav1.E_K8S).(*schemav1.Field)
}

// findField looks key up among md's fields by JSON name, descending into
// inline fields as Go's embedded structs do.
func findField(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if opts := options(fd); opts.GetInline() && fd.Message() != nil {
			if inner := findField(fd.Message(), key); inner != nil {
				return inner
			}
			continue
		}
		if fd.JSONName() == key {
			return fd
		}
	}
	return nil
}
