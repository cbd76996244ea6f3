package encryption

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// A KMS v2 value, after its prefix, is Kubernetes' EncryptedObject
// message (package v2 of k8s.io/apiserver's envelope/kmsv2), proto3:
//
//	1 encryptedData          bytes
//	2 keyID                  string
//	3 encryptedDEKSource     bytes
//	4 annotations            map<string, bytes>
//	5 encryptedDEKSourceType enum (0 AES_GCM_KEY, 1 HKDF_SHA256_XNONCE_AES_GCM_SEED)
//
// It is written and read here with protowire, field by field.
type encryptedObject struct {
	EncryptedData      []byte
	KeyID              string
	EncryptedDEKSource []byte
	Annotations        map[string][]byte
	SourceType         dekSourceType
}

// dekSourceType says what the plugin's plaintext of encryptedDEKSource is.
type dekSourceType uint64

const (
	// sourceAESGCMKey: the DEK itself, an AES-GCM key (what Kubernetes
	// wrote before 1.29; read only).
	sourceAESGCMKey dekSourceType = 0
	// sourceHKDFSeed: a 32-byte seed; each value has its own key,
	// HKDF-SHA256-Expand(seed, info) with 32 random info bytes.
	sourceHKDFSeed dekSourceType = 1
)

// Limits Kubernetes enforces on an EncryptedObject.
const (
	maxKeyIDSize       = 1 << 10
	maxDEKSourceSize   = 1 << 10
	maxAnnotationsSize = 32 << 10
)

const (
	fieldEncryptedData protowire.Number = 1
	fieldKeyID         protowire.Number = 2
	fieldDEKSource     protowire.Number = 3
	fieldAnnotations   protowire.Number = 4
	fieldSourceType    protowire.Number = 5
)

// marshal writes the fields in number order and the annotations by key,
// leaving out empty ones as proto3 does.
func (o *encryptedObject) marshal() []byte {
	var b []byte
	if len(o.EncryptedData) > 0 {
		b = protowire.AppendTag(b, fieldEncryptedData, protowire.BytesType)
		b = protowire.AppendBytes(b, o.EncryptedData)
	}
	if o.KeyID != "" {
		b = protowire.AppendTag(b, fieldKeyID, protowire.BytesType)
		b = protowire.AppendString(b, o.KeyID)
	}
	if len(o.EncryptedDEKSource) > 0 {
		b = protowire.AppendTag(b, fieldDEKSource, protowire.BytesType)
		b = protowire.AppendBytes(b, o.EncryptedDEKSource)
	}
	keys := make([]string, 0, len(o.Annotations))
	for k := range o.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, o.Annotations[k])
		b = protowire.AppendTag(b, fieldAnnotations, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	if o.SourceType != 0 {
		b = protowire.AppendTag(b, fieldSourceType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.SourceType))
	}
	return b
}

// unmarshalEncryptedObject reads the message as any proto3 reader would:
// fields in any order, the last of a repeated scalar winning, unknown
// fields skipped.
func unmarshalEncryptedObject(b []byte) (*encryptedObject, error) {
	o := &encryptedObject{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("EncryptedObject: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldSourceType && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("EncryptedObject: %w", protowire.ParseError(n))
			}
			o.SourceType, b = dekSourceType(v), b[n:]
		case typ == protowire.BytesType && num >= fieldEncryptedData && num <= fieldAnnotations:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("EncryptedObject: %w", protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case fieldEncryptedData:
				o.EncryptedData = v
			case fieldKeyID:
				o.KeyID = string(v)
			case fieldDEKSource:
				o.EncryptedDEKSource = v
			case fieldAnnotations:
				k, val, err := unmarshalMapEntry(v)
				if err != nil {
					return nil, err
				}
				if o.Annotations == nil {
					o.Annotations = map[string][]byte{}
				}
				o.Annotations[k] = val
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("EncryptedObject: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return o, nil
}

func unmarshalMapEntry(b []byte) (string, []byte, error) {
	var key string
	var val []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", nil, fmt.Errorf("EncryptedObject annotation: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", nil, fmt.Errorf("EncryptedObject annotation: %w", protowire.ParseError(n))
			}
			b = b[n:]
			if num == 1 {
				key = string(v)
			} else {
				val = v
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", nil, fmt.Errorf("EncryptedObject annotation: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return key, val, nil
}

// dnsSubdomain is a lowercase RFC 1123 subdomain of at least two labels:
// an annotation key must be a fully qualified domain name.
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`)

// validate applies Kubernetes' checks to an object read or about to be
// written.
func (o *encryptedObject) validate() error {
	var errs []error
	if o.SourceType != sourceAESGCMKey && o.SourceType != sourceHKDFSeed {
		errs = append(errs, fmt.Errorf("unknown encryptedDEKSourceType %d", o.SourceType))
	}
	if len(o.EncryptedData) == 0 {
		errs = append(errs, errors.New("encryptedData is empty"))
	}
	if err := validateDEKSource(o.EncryptedDEKSource); err != nil {
		errs = append(errs, err)
	}
	if err := validateKeyID(o.KeyID); err != nil {
		errs = append(errs, err)
	}
	if err := validateAnnotations(o.Annotations); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateDEKSource(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("encryptedDEKSource is empty")
	case len(b) > maxDEKSourceSize:
		return fmt.Errorf("encryptedDEKSource is %d bytes, over the limit of %d", len(b), maxDEKSourceSize)
	}
	return nil
}

func validateKeyID(id string) error {
	switch {
	case id == "":
		return errors.New("keyID is empty")
	case len(id) > maxKeyIDSize:
		return fmt.Errorf("keyID is %d bytes, over the limit of %d", len(id), maxKeyIDSize)
	}
	return nil
}

func validateAnnotations(a map[string][]byte) error {
	var errs []error
	size := 0
	for k, v := range a {
		if len(k) > 253 || !dnsSubdomain.MatchString(k) {
			errs = append(errs, fmt.Errorf("annotation key %q is not a fully qualified domain name", k))
		}
		size += len(k) + len(v)
	}
	if size > maxAnnotationsSize {
		errs = append(errs, fmt.Errorf("annotations are %d bytes, over the limit of %d", size, maxAnnotationsSize))
	}
	return errors.Join(errs...)
}
