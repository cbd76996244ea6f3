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
	return env.GetTypeMeta().GetApiVersion(), env.GetTypeMeta().GetKind(), nil
}
