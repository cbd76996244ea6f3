package kjson

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Time layouts of metav1.Time and metav1.MicroTime.
const (
	timeLayout      = "2006-01-02T15:04:05Z07:00"
	microTimeLayout = "2006-01-02T15:04:05.000000Z07:00"
)

// Marshal encodes m as Kubernetes JSON.
func Marshal(m proto.Message) ([]byte, error) {
	return appendMessage(make([]byte, 0, 512), m.ProtoReflect(), false)
}

func appendMessage(b []byte, m protoreflect.Message, micro bool) ([]byte, error) {
	switch m.Descriptor().FullName() {
	case nameTimestamp:
		return appendTimestamp(b, m, micro), nil
	case nameQuantity:
		return appendString(b, m.Get(m.Descriptor().Fields().ByNumber(1)).String()), nil
	case nameIntOrString:
		return appendIntOrString(b, m), nil
	case nameRawExtension, nameFieldsV1:
		raw := m.Get(m.Descriptor().Fields().ByNumber(1)).Bytes()
		if len(raw) == 0 {
			return append(b, "null"...), nil
		}
		return append(b, raw...), nil
	case nameJSON:
		return appendJSONValue(b, m.Get(m.Descriptor().Fields().ByNumber(1)).Bytes())
	case nameSchemaOrBool:
		return appendSchemaOrBool(b, m)
	case nameSchemaOrArray, nameSchemaOrStringArray:
		return appendSchemaOrList(b, m)
	}
	plan := planOf(m.Descriptor())
	if plan.list != nil {
		return appendField(b, *plan.list, m.Get(plan.list.fd))
	}
	b = append(b, '{')
	first := true
	b, err := appendFields(b, m, &first)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendFields(b []byte, m protoreflect.Message, first *bool) ([]byte, error) {
	var err error
	for _, fp := range planOf(m.Descriptor()).fields {
		if fp.rest {
			if b, err = appendMembers(b, m.Get(fp.fd).Message(), first); err != nil {
				return nil, fmt.Errorf("%s: %w", fp.name, err)
			}
			continue
		}
		if fp.inline {
			if m.Has(fp.fd) {
				if b, err = appendFields(b, m.Get(fp.fd).Message(), first); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !emits(m, fp) {
			continue
		}
		if !*first {
			b = append(b, ',')
		}
		*first = false
		b = appendString(b, fp.name)
		b = append(b, ':')
		if b, err = appendField(b, fp, m.Get(fp.fd)); err != nil {
			return nil, fmt.Errorf("%s: %w", fp.name, err)
		}
	}
	return b, nil
}

// appendMembers writes the members of an inline JSON object.
func appendMembers(b []byte, m protoreflect.Message, first *bool) ([]byte, error) {
	raw := m.Get(m.Descriptor().Fields().ByNumber(1)).Bytes()
	if len(raw) == 0 {
		return b, nil
	}
	obj, err := appendJSONValue(nil, raw)
	if err != nil {
		return nil, err
	}
	if len(obj) < 2 || obj[0] != '{' {
		return nil, fmt.Errorf("inline JSON is not an object")
	}
	inner := obj[1 : len(obj)-1]
	if len(inner) == 0 {
		return b, nil
	}
	if !*first {
		b = append(b, ',')
	}
	*first = false
	return append(b, inner...), nil
}

// emits tells whether a field is written: set (or present, for optional
// fields and messages), non-empty for lists and maps, or marked emit_empty.
func emits(m protoreflect.Message, fp fieldPlan) bool {
	if fp.emitEmpty {
		return true
	}
	fd := fp.fd
	switch {
	case fd.IsList():
		return m.Get(fd).List().Len() > 0
	case fd.IsMap():
		return m.Get(fd).Map().Len() > 0
	}
	return m.Has(fd)
}

func appendField(b []byte, fp fieldPlan, v protoreflect.Value) ([]byte, error) {
	fd := fp.fd
	var err error
	switch {
	case fd.IsList():
		l := v.List()
		b = append(b, '[')
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendSingular(b, fd, l.Get(i), fp.microTime); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case fd.IsMap():
		return appendMap(b, fd, v.Map(), fp.microTime)
	}
	return appendSingular(b, fd, v, fp.microTime)
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map, micro bool) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, c protoreflect.MapKey) int {
		as, cs := a.String(), c.String()
		switch {
		case as < cs:
			return -1
		case as > cs:
			return 1
		}
		return 0
	})
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k.String())
		b = append(b, ':')
		if b, err = appendSingular(b, fd.MapValue(), mp.Get(k), micro); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendSingular(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value, micro bool) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64)
	case protoreflect.StringKind:
		return appendString(b, v.String()), nil
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message(), micro)
	}
	return nil, fmt.Errorf("unsupported field kind %v", fd.Kind())
}

// appendFloat writes f as encoding/json does (and so Kubernetes): the
// shortest decimal that reads back as f, in exponent form only below 1e-6
// or from 1e21 up (1e-7, 1e+21), with at least one exponent digit.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("cannot encode %v as JSON", f)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		small, large := a < 1e-6, a >= 1e21
		if bits == 32 {
			small, large = float32(a) < 1e-6, float32(a) >= 1e21
		}
		if small || large {
			format = 'e'
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// strconv pads the exponent to two digits (1e-07); JSON does not.
		if e := bytes.LastIndexByte(b[start:], 'e'); e >= 0 {
			exp := b[start+e+2:]
			if len(exp) == 2 && exp[0] == '0' {
				exp[0] = exp[1]
				b = b[:len(b)-1]
			}
		}
	}
	return b, nil
}

func appendTimestamp(b []byte, m protoreflect.Message, micro bool) []byte {
	fields := m.Descriptor().Fields()
	t := time.Unix(m.Get(fields.ByNumber(1)).Int(), m.Get(fields.ByNumber(2)).Int()).UTC()
	layout := timeLayout
	if micro {
		layout = microTimeLayout
	}
	b = append(b, '"')
	b = t.AppendFormat(b, layout)
	return append(b, '"')
}

func appendIntOrString(b []byte, m protoreflect.Message) []byte {
	fields := m.Descriptor().Fields()
	if m.Get(fields.ByNumber(1)).Int() == 1 {
		return appendString(b, m.Get(fields.ByNumber(3)).String())
	}
	return strconv.AppendInt(b, m.Get(fields.ByNumber(2)).Int(), 10)
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string, escaping as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
