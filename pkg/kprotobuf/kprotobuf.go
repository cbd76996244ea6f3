// Package kprotobuf reads and writes Kubernetes' protobuf encoding
// (application/vnd.kubernetes.protobuf): the magic bytes "k8s\x00" and a
// runtime.Unknown envelope whose raw field holds the object. Kubernetes
// clients send some writes this way, and the apiserver stores objects in
// etcd in it.
package kprotobuf

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/api/meta/v1"
)

// ContentType is the media type of the encoding.
const ContentType = "application/vnd.kubernetes.protobuf"

// Magic starts every encoded object.
var Magic = []byte("k8s\x00")

// Type-field numbers our top-level messages use for kind and apiVersion;
// Kubernetes carries those in the envelope instead.
const (
	kindField       = 1000
	apiVersionField = 1001
)

// Encode wraps m in the envelope with the given type. m's own kind and
// apiVersion fields are left out of the raw bytes, as Kubernetes has no
// such fields in its messages.
func Encode(m proto.Message, apiVersion, kind string) ([]byte, error) {
	raw, err := marshalWithoutTypeMeta(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	env, err := proto.MarshalOptions{Deterministic: true}.Marshal(&metav1.Unknown{
		TypeMeta: &metav1.TypeMeta{ApiVersion: apiVersion, Kind: kind},
		Raw:      raw,
	})
	if err != nil {
		return nil, fmt.Errorf("encode %s envelope: %w", kind, err)
	}
	return append(append(make([]byte, 0, len(Magic)+len(env)), Magic...), env...), nil
}

func marshalWithoutTypeMeta(m proto.Message) ([]byte, error) {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	kindFD, avFD := fields.ByNumber(kindField), fields.ByNumber(apiVersionField)
	if (kindFD == nil || !r.Has(kindFD)) && (avFD == nil || !r.Has(avFD)) {
		return proto.MarshalOptions{Deterministic: true}.Marshal(m)
	}
	c := proto.Clone(m).ProtoReflect()
	for _, fd := range []protoreflect.FieldDescriptor{kindFD, avFD} {
		if fd != nil {
			c.Clear(fd)
		}
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(c.Interface())
}

// ErrNoMagic is returned for data that is not in the envelope encoding.
var ErrNoMagic = errors.New("not Kubernetes protobuf: missing the k8s\\x00 prefix")

// Decode reads the envelope into m and returns the type it names. Fields
// m does not model are dropped: a Kubernetes client may send fields Skiff
// does not know yet, and keeping them would store bytes nothing reads.
func Decode(data []byte, m proto.Message) (apiVersion, kind string, err error) {
	if !bytes.HasPrefix(data, Magic) {
		return "", "", ErrNoMagic
	}
	var env metav1.Unknown
	if err := proto.Unmarshal(data[len(Magic):], &env); err != nil {
		return "", "", fmt.Errorf("decode envelope: %w", err)
	}
	if env.GetContentEncoding() != "" {
		return "", "", fmt.Errorf("decode envelope: content encoding %q is not supported", env.GetContentEncoding())
	}
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(env.GetRaw(), m); err != nil {
		return "", "", fmt.Errorf("decode %s: %w", env.GetTypeMeta().GetKind(), err)
	}
	clearZeroTimes(m.ProtoReflect())
	return env.GetTypeMeta().GetApiVersion(), env.GetTypeMeta().GetKind(), nil
}

// timestamp is the message Time and MicroTime are written as.
const timestamp protoreflect.FullName = "google.protobuf.Timestamp"

// clearZeroTimes unsets every Time and MicroTime that is empty on the wire.
// Kubernetes writes its zero time (an unset non-pointer field such as an
// Event's eventTime or a template's creationTimestamp) as an empty message
// and reads an empty message back as the zero time, that is unset; read
// as a Timestamp it would be the epoch, set, and an Event a client never
// gave an eventTime would be validated as a new-style one.
func clearZeroTimes(m protoreflect.Message) {
	var zero []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					clearZeroTimes(e.Message())
					return true
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len(); i++ {
				clearZeroTimes(l.Get(i).Message())
			}
		case fd.Message().FullName() == timestamp:
			if isEpoch(v.Message()) {
				zero = append(zero, fd)
			}
		default:
			clearZeroTimes(v.Message())
		}
		return true
	})
	for _, fd := range zero {
		m.Clear(fd)
	}
}

func isEpoch(ts protoreflect.Message) bool {
	fields := ts.Descriptor().Fields()
	return ts.Get(fields.ByName("seconds")).Int() == 0 && ts.Get(fields.ByName("nanos")).Int() == 0
}
