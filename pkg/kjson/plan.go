// Package kjson encodes and decodes Skiff's protobuf API objects as
// Kubernetes JSON: camelCase names (with the contracts' json_name
// overrides), int64 as numbers, quantities and int-or-strings as bare
// strings or numbers, messages marked bare_list as the bare list of their
// one field (an ExtraValue), metav1.Time and MicroTime, embedded raw JSON, the
// schema values of CustomResourceDefinitions (any JSON value, a schema or
// a boolean, a schema or a list), inline sub-messages, and an inline JSON
// object that takes every member no other field takes (a custom object's
// content), with Kubernetes' strict-decoding errors.
package kjson

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	schemav1 "skiff.dev/api/schema/v1"
)

// Full names of the messages with their own JSON shape.
const (
	nameTimestamp    protoreflect.FullName = "google.protobuf.Timestamp"
	nameQuantity     protoreflect.FullName = "skiff.meta.v1.Quantity"
	nameIntOrString  protoreflect.FullName = "skiff.meta.v1.IntOrString"
	nameRawExtension protoreflect.FullName = "skiff.meta.v1.RawExtension"
	nameFieldsV1     protoreflect.FullName = "skiff.meta.v1.FieldsV1"
	nameListMeta     protoreflect.FullName = "skiff.meta.v1.ListMeta"
)

// fieldPlan is what the codec needs to know about one field.
type fieldPlan struct {
	fd     protoreflect.FieldDescriptor
	name   string // JSON key
	inline bool
	// rest is an inline JSON field: the object's members that no other
	// field takes (a custom object's content).
	rest      bool
	microTime bool
	emitEmpty bool
}

// messagePlan lists a message's fields in declaration order and indexes
// every JSON key it accepts, including those of inline sub-messages.
type messagePlan struct {
	fields []fieldPlan
	byKey  map[string][]fieldPlan // path through inline fields, last is the target
	rest   *fieldPlan             // the field that takes every other member
	// list is the repeated field a bare_list message is written as: the
	// message is that JSON array, not an object.
	list *fieldPlan
}

var plans sync.Map // protoreflect.FullName → *messagePlan

func planOf(md protoreflect.MessageDescriptor) *messagePlan {
	if p, ok := plans.Load(md.FullName()); ok {
		return p.(*messagePlan)
	}
	p := &messagePlan{byKey: map[string][]fieldPlan{}}
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fp := planField(fds.Get(i))
		p.fields = append(p.fields, fp)
		if fp.rest {
			p.rest = &p.fields[len(p.fields)-1]
			continue
		}
		if fp.inline {
			for key, chain := range planOf(fp.fd.Message()).byKey {
				p.byKey[key] = append([]fieldPlan{fp}, chain...)
			}
			continue
		}
		p.byKey[fp.name] = []fieldPlan{fp}
	}
	if bareList(md) && len(p.fields) == 1 && p.fields[0].fd.IsList() {
		p.list = &p.fields[0]
	}
	if isListKind(md) {
		// A list's items are written even when there are none,
		// "items": [], as Kubernetes' lists have them (no omitempty).
		for i := range p.fields {
			if p.fields[i].name == "items" {
				p.fields[i].emitEmpty = true
			}
		}
	}
	plans.Store(md.FullName(), p)
	return p
}

// isListKind tells a Kubernetes list (ListMeta metadata and repeated
// items) from other messages.
func isListKind(md protoreflect.MessageDescriptor) bool {
	meta, items := md.Fields().ByName("metadata"), md.Fields().ByName("items")
	return meta != nil && meta.Message() != nil && meta.Message().FullName() == nameListMeta &&
		items != nil && items.IsList()
}

// bareList tells whether a message is marked to be written as the list of
// its one repeated field.
func bareList(md protoreflect.MessageDescriptor) bool {
	opts := md.Options()
	if opts == nil {
		return false
	}
	ext, ok := proto.GetExtension(opts, schemav1.E_K8SMessage).(*schemav1.Message)
	return ok && ext.GetBareList()
}

func planField(fd protoreflect.FieldDescriptor) fieldPlan {
	fp := fieldPlan{fd: fd, name: fd.JSONName()}
	if opts := fd.Options(); opts != nil {
		if ext, ok := proto.GetExtension(opts, schemav1.E_K8S).(*schemav1.Field); ok && ext != nil {
			fp.inline = ext.GetInline() && fd.Message() != nil
			if fp.inline && fd.Message().FullName() == nameJSON {
				fp.inline, fp.rest = false, true
			}
			fp.microTime = ext.GetMicroTime()
			fp.emitEmpty = ext.GetEmitEmpty()
		}
	}
	return fp
}
