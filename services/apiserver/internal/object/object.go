// Package object reaches into any API object generically: its metadata, its
// spec and status, and the items of its list kind. Every top-level message
// has `metadata` at field 1; lists have `metadata` (ListMeta) and `items`.
package object

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/api/meta/v1"
)

// Meta returns obj's metadata, creating it if unset. It panics for a
// message without a metadata field: that is a programming error.
func Meta(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	return m.Mutable(fd).Message().Interface().(*metav1.ObjectMeta)
}

// ListMeta returns a list's metadata, creating it if unset.
func ListMeta(list proto.Message) *metav1.ListMeta {
	m := list.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	return m.Mutable(fd).Message().Interface().(*metav1.ListMeta)
}

// SetTypeMeta sets the kind and apiVersion fields of a top-level object.
func SetTypeMeta(obj proto.Message, apiVersion, kind string) {
	m := obj.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fd := fields.ByName("kind"); fd != nil {
		m.Set(fd, protoreflect.ValueOfString(kind))
	}
	if fd := fields.ByName("api_version"); fd != nil {
		m.Set(fd, protoreflect.ValueOfString(apiVersion))
	}
}

// TypeMeta reads the kind and apiVersion fields.
func TypeMeta(obj proto.Message) (apiVersion, kind string) {
	m := obj.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fd := fields.ByName("kind"); fd != nil {
		kind = m.Get(fd).String()
	}
	if fd := fields.ByName("api_version"); fd != nil {
		apiVersion = m.Get(fd).String()
	}
	return apiVersion, kind
}

// SetItems replaces the items of a list message.
func SetItems(list proto.Message, items []proto.Message) {
	m := list.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("items")
	l := m.Mutable(fd).List()
	l.Truncate(0)
	for _, it := range items {
		l.Append(protoreflect.ValueOfMessage(it.ProtoReflect()))
	}
}

// Items returns the items of a list message.
func Items(list proto.Message) []proto.Message {
	m := list.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("items")
	l := m.Get(fd).List()
	out := make([]proto.Message, l.Len())
	for i := range out {
		out[i] = l.Get(i).Message().Interface()
	}
	return out
}

// Part returns the named sub-message field ("spec", "status") or nil when
// the kind has no such field or it is unset.
func Part(obj proto.Message, name protoreflect.Name) proto.Message {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Message() == nil || !m.Has(fd) {
		return nil
	}
	return m.Get(fd).Message().Interface()
}

// HasPart tells whether the kind has a message field of that name.
func HasPart(obj proto.Message, name protoreflect.Name) bool {
	fd := obj.ProtoReflect().Descriptor().Fields().ByName(name)
	return fd != nil && fd.Message() != nil
}

// CopyPart sets dst's named field to a copy of src's (or clears it).
func CopyPart(dst, src proto.Message, name protoreflect.Name) {
	dm := dst.ProtoReflect()
	fd := dm.Descriptor().Fields().ByName(name)
	if fd == nil {
		return
	}
	sm := src.ProtoReflect()
	if !sm.Has(fd) {
		dm.Clear(fd)
		return
	}
	v := sm.Get(fd)
	switch {
	case fd.IsList():
		list := dm.NewField(fd).List()
		for i := 0; i < v.List().Len(); i++ {
			list.Append(cloneValue(fd, v.List().Get(i)))
		}
		v = protoreflect.ValueOfList(list)
	case fd.IsMap():
		m := dm.NewField(fd).Map()
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			m.Set(k, cloneValue(fd.MapValue(), mv))
			return true
		})
		v = protoreflect.ValueOfMap(m)
	default:
		v = cloneValue(fd, v)
	}
	dm.Set(fd, v)
}

// cloneValue deep-copies a message value; scalars are values already.
func cloneValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	if fd.Message() == nil {
		return v
	}
	return protoreflect.ValueOfMessage(proto.Clone(v.Message().Interface()).ProtoReflect())
}

// CopyPath copies the field at a path of field names (each but the last a
// message) from src to dst, making dst's parents as needed; a part src
// lacks is cleared in dst.
func CopyPath(dst, src proto.Message, path ...string) {
	dm, sm := dst.ProtoReflect(), src.ProtoReflect()
	for i, name := range path {
		fd := dm.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return
		}
		if i == len(path)-1 {
			CopyPart(dm.Interface(), sm.Interface(), fd.Name())
			return
		}
		if fd.Message() == nil || (!sm.Has(fd) && !dm.Has(fd)) {
			return
		}
		// An unset parent in src reads as an empty message: its part is
		// cleared in dst.
		dm, sm = dm.Mutable(fd).Message(), sm.Get(fd).Message()
	}
}

// ClearPart unsets the named field.
func ClearPart(obj proto.Message, name protoreflect.Name) {
	m := obj.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName(name); fd != nil {
		m.Clear(fd)
	}
}

// PartEqual tells whether a and b hold equal values in the named field.
func PartEqual(a, b proto.Message, name protoreflect.Name) bool {
	am, bm := a.ProtoReflect(), b.ProtoReflect()
	fd := am.Descriptor().Fields().ByName(name)
	if fd == nil {
		return true
	}
	if am.Has(fd) != bm.Has(fd) {
		// An unset and an empty message are the same to a client.
		if fd.Message() != nil {
			return isEmpty(am, fd) && isEmpty(bm, fd)
		}
		return false
	}
	if fd.Message() != nil {
		return proto.Equal(am.Get(fd).Message().Interface(), bm.Get(fd).Message().Interface())
	}
	return am.Get(fd).Equal(bm.Get(fd))
}

func isEmpty(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if !m.Has(fd) {
		return true
	}
	return proto.Size(m.Get(fd).Message().Interface()) == 0
}

// ClearTypeMeta unsets the kind and apiVersion fields.
func ClearTypeMeta(obj proto.Message) {
	m := obj.ProtoReflect()
	fields := m.Descriptor().Fields()
	for _, name := range []protoreflect.Name{"kind", "api_version"} {
		if fd := fields.ByName(name); fd != nil {
			m.Clear(fd)
		}
	}
}
