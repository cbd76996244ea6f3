package kjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Option changes how Unmarshal decodes.
type Option func(*decoder)

// Strict reports unknown and duplicate fields as a *StrictError (after
// decoding everything else, so the message is complete either way).
func Strict() Option { return func(d *decoder) { d.strict = true } }

// StrictError lists the unknown and duplicate fields of a strict decode,
// worded as Kubernetes words them.
type StrictError struct {
	Problems []string
}

func (e *StrictError) Error() string {
	return "strict decoding error: " + strings.Join(e.Problems, ", ")
}

// FieldError is a value that does not fit its field.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

type decoder struct {
	strict   bool
	problems []string
}

// Unmarshal decodes Kubernetes JSON into m, which it resets first.
func Unmarshal(data []byte, m proto.Message, opts ...Option) error {
	d := &decoder{}
	for _, o := range opts {
		o(d)
	}
	proto.Reset(m)
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return &FieldError{Msg: "the body must be a JSON object"}
	}
	if err := d.message(data, m.ProtoReflect(), "", false); err != nil {
		return err
	}
	if d.strict && len(d.problems) > 0 {
		return &StrictError{Problems: d.problems}
	}
	return nil
}

func isNull(raw []byte) bool { return string(raw) == "null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// message decodes a JSON value into a message.
func (d *decoder) message(raw []byte, m protoreflect.Message, path string, micro bool) error {
	switch m.Descriptor().FullName() {
	case nameTimestamp:
		return d.timestamp(raw, m, path)
	case nameQuantity:
		return d.quantity(raw, m, path)
	case nameIntOrString:
		return d.intOrString(raw, m, path)
	case nameSchemaOrBool:
		return d.schemaOrBool(raw, m, path)
	case nameSchemaOrArray, nameSchemaOrStringArray:
		return d.schemaOrList(raw, m, path)
	case nameRawExtension, nameFieldsV1, nameJSON:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return &FieldError{Path: path, Msg: "invalid JSON: " + err.Error()}
		}
		m.Set(m.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfBytes(buf.Bytes()))
		return nil
	}
	plan := planOf(m.Descriptor())
	if plan.list != nil {
		return d.field(raw, m, *plan.list, path)
	}
	seen := map[string]bool{}
	var rest []byte
	err := eachMember(raw, path, func(key string, val []byte) error {
		if seen[key] {
			d.problems = append(d.problems, fmt.Sprintf("duplicate field %q", join(path, key)))
		}
		seen[key] = true
		chain, ok := plan.byKey[key]
		if !ok && plan.rest != nil {
			rest = appendMember(rest, key, val)
			return nil
		}
		if !ok {
			d.problems = append(d.problems, fmt.Sprintf("unknown field %q", join(path, key)))
			return nil
		}
		if isNull(val) {
			return nil
		}
		target := m
		for _, fp := range chain[:len(chain)-1] {
			target = target.Mutable(fp.fd).Message()
		}
		return d.field(val, target, chain[len(chain)-1], join(path, key))
	})
	if err != nil || rest == nil {
		return err
	}
	return d.message(append(rest, '}'), m.Mutable(plan.rest.fd).Message(), path, false)
}

// appendMember adds "key":val to an object being built (opening it first).
func appendMember(obj []byte, key string, val []byte) []byte {
	if obj == nil {
		obj = append(obj, '{')
	} else {
		obj = append(obj, ',')
	}
	obj = appendString(obj, key)
	obj = append(obj, ':')
	return append(obj, val...)
}

// eachMember calls f for every member of a JSON object, in order.
func eachMember(raw []byte, path string, f func(key string, val []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return &FieldError{Path: path, Msg: "invalid JSON: " + err.Error()}
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return &FieldError{Path: path, Msg: "expected an object, got " + describe(raw)}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &FieldError{Path: path, Msg: "invalid JSON: " + err.Error()}
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return &FieldError{Path: join(path, key), Msg: "invalid JSON: " + err.Error()}
		}
		if err := f(key, val); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return &FieldError{Path: path, Msg: "invalid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &FieldError{Path: path, Msg: "invalid JSON: data after the object"}
	}
	return nil
}

// eachElement calls f for every element of a JSON array.
func eachElement(raw []byte, path string, f func(i int, val []byte) error) error {
	if len(raw) == 0 || raw[0] != '[' {
		return &FieldError{Path: path, Msg: "expected an array, got " + describe(raw)}
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return &FieldError{Path: path, Msg: "invalid JSON: " + err.Error()}
	}
	for i, e := range elems {
		if err := f(i, e); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) field(raw []byte, m protoreflect.Message, fp fieldPlan, path string) error {
	fd := fp.fd
	switch {
	case fd.IsList():
		l := m.Mutable(fd).List()
		return eachElement(raw, path, func(i int, val []byte) error {
			p := fmt.Sprintf("%s[%d]", path, i)
			if fd.Message() != nil {
				el := l.NewElement()
				if !isNull(val) {
					if err := d.message(val, el.Message(), p, fp.microTime); err != nil {
						return err
					}
				}
				l.Append(el)
				return nil
			}
			v, err := scalar(val, fd, p)
			if err != nil {
				return err
			}
			l.Append(v)
			return nil
		})
	case fd.IsMap():
		mp := m.Mutable(fd).Map()
		return eachMember(raw, path, func(key string, val []byte) error {
			mk, err := mapKey(key, fd.MapKey(), path)
			if err != nil {
				return err
			}
			p := join(path, key)
			if fd.MapValue().Message() != nil {
				v := mp.NewValue()
				if !isNull(val) {
					if err := d.message(val, v.Message(), p, fp.microTime); err != nil {
						return err
					}
				}
				mp.Set(mk, v)
				return nil
			}
			v, err := scalar(val, fd.MapValue(), p)
			if err != nil {
				return err
			}
			mp.Set(mk, v)
			return nil
		})
	case fd.Message() != nil:
		return d.message(raw, m.Mutable(fd).Message(), path, fp.microTime)
	}
	v, err := scalar(raw, fd, path)
	if err != nil {
		return err
	}
	m.Set(fd, v)
	return nil
}

func mapKey(key string, fd protoreflect.FieldDescriptor, path string) (protoreflect.MapKey, error) {
	if fd.Kind() == protoreflect.StringKind {
		return protoreflect.ValueOfString(key).MapKey(), nil
	}
	v, err := scalar([]byte(strconv.Quote(key)), fd, path)
	if err != nil {
		return protoreflect.MapKey{}, err
	}
	return v.MapKey(), nil
}

// describe names a JSON value's type for error messages.
func describe(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "string " + string(raw)
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "number " + string(raw)
}

func scalar(raw []byte, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	bad := func(want string) error {
		return &FieldError{Path: path, Msg: fmt.Sprintf("expected %s, got %s", want, describe(raw))}
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		switch string(raw) {
		case "true":
			return protoreflect.ValueOfBool(true), nil
		case "false":
			return protoreflect.ValueOfBool(false), nil
		}
		return protoreflect.Value{}, bad("a boolean")
	case protoreflect.StringKind:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return protoreflect.Value{}, bad("a string")
		}
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BytesKind:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return protoreflect.Value{}, bad("a base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "illegal base64 data: " + err.Error()}
		}
		return protoreflect.ValueOfBytes(b), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return protoreflect.Value{}, bad("a number")
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return integer(raw, fd, path)
}

func integer(raw []byte, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	text := string(raw)
	if raw[0] == '"' {
		if fd.Kind() != protoreflect.Int64Kind && fd.Kind() != protoreflect.Uint64Kind {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "expected an integer, got " + describe(raw)}
		}
		text = strings.Trim(text, `"`)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "expected an integer, got " + describe(raw)}
		}
		n = int64(f)
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "value out of range for a 32-bit integer: " + text}
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n < 0 || n > math.MaxUint32 {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "value out of range for an unsigned 32-bit integer: " + text}
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n < 0 {
			return protoreflect.Value{}, &FieldError{Path: path, Msg: "value out of range for an unsigned integer: " + text}
		}
		return protoreflect.ValueOfUint64(uint64(n)), nil
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	}
	return protoreflect.ValueOfInt64(n), nil
}

func (d *decoder) timestamp(raw []byte, m protoreflect.Message, path string) error {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return &FieldError{Path: path, Msg: "expected an RFC 3339 time string, got " + describe(raw)}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return &FieldError{Path: path, Msg: fmt.Sprintf("invalid time %q: want RFC 3339 (2006-01-02T15:04:05Z)", s)}
	}
	fields := m.Descriptor().Fields()
	m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(t.Unix()))
	m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
	return nil
}

func (d *decoder) quantity(raw []byte, m protoreflect.Message, path string) error {
	var s string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return &FieldError{Path: path, Msg: "invalid JSON string"}
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		s = string(raw)
	default:
		return &FieldError{Path: path, Msg: "expected a quantity (a string such as \"500m\" or a number), got " + describe(raw)}
	}
	m.Set(m.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfString(s))
	return nil
}

func (d *decoder) intOrString(raw []byte, m protoreflect.Message, path string) error {
	fields := m.Descriptor().Fields()
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return &FieldError{Path: path, Msg: "invalid JSON string"}
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(1))
		m.Set(fields.ByNumber(3), protoreflect.ValueOfString(s))
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return &FieldError{Path: path, Msg: "expected an integer or a string, got " + describe(raw)}
	}
	m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(int32(n)))
	return nil
}
