// Package field describes what is wrong with which field of an object, the
// way Kubernetes validation reports it: a path such as
// spec.containers[0].name, a kind of error, the bad value and a detail.
package field

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Path is a field path, built from the root down.
type Path struct {
	parent *Path
	name   string // a field name, or "" for an index/key step
	index  string // "[0]" or "[key]"
}

// NewPath starts a path at the named root field.
func NewPath(name string, more ...string) *Path {
	p := &Path{name: name}
	for _, m := range more {
		p = p.Child(m)
	}
	return p
}

// Child is the path of a sub-field.
func (p *Path) Child(name string, more ...string) *Path {
	c := &Path{parent: p, name: name}
	for _, m := range more {
		c = c.Child(m)
	}
	return c
}

// Index is the path of a list element.
func (p *Path) Index(i int) *Path {
	return &Path{parent: p, index: "[" + strconv.Itoa(i) + "]"}
}

// Key is the path of a map entry.
func (p *Path) Key(k string) *Path {
	return &Path{parent: p, index: "[" + k + "]"}
}

// String renders the path as Kubernetes does: a.b[0].c[key].
func (p *Path) String() string {
	if p == nil {
		return "<nil>"
	}
	var parts []*Path
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		if q.index != "" {
			b.WriteString(q.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(q.name)
	}
	return b.String()
}

// ErrorType is the kind of a field error; its value is the Status cause
// reason Kubernetes uses.
type ErrorType string

// The error types Kubernetes reports.
const (
	ErrorTypeRequired     ErrorType = "FieldValueRequired"
	ErrorTypeInvalid      ErrorType = "FieldValueInvalid"
	ErrorTypeDuplicate    ErrorType = "FieldValueDuplicate"
	ErrorTypeNotSupported ErrorType = "FieldValueNotSupported"
	ErrorTypeForbidden    ErrorType = "FieldValueForbidden"
	ErrorTypeTooLong      ErrorType = "FieldValueTooLong"
	ErrorTypeNotFound     ErrorType = "FieldValueNotFound"
	ErrorTypeTooMany      ErrorType = "FieldValueTooMany"
	ErrorTypeTypeInvalid  ErrorType = "FieldValueTypeInvalid"
	ErrorTypeInternal     ErrorType = "InternalError"
)

func (t ErrorType) phrase() string {
	switch t {
	case ErrorTypeRequired:
		return "Required value"
	case ErrorTypeDuplicate:
		return "Duplicate value"
	case ErrorTypeNotSupported:
		return "Unsupported value"
	case ErrorTypeForbidden:
		return "Forbidden"
	case ErrorTypeTooLong:
		return "Too long"
	case ErrorTypeNotFound:
		return "Not found"
	case ErrorTypeTooMany:
		return "Too many"
	case ErrorTypeInternal:
		return "Internal error"
	default:
		return "Invalid value"
	}
}

// Error is one problem with one field.
type Error struct {
	Type     ErrorType
	Field    string
	BadValue any
	Detail   string
}

// Error renders "field: Phrase: value: detail" as Kubernetes does.
func (e *Error) Error() string {
	return e.Field + ": " + e.Message()
}

// Message is the error without its field, as a Status cause carries it.
func (e *Error) Message() string {
	var b strings.Builder
	b.WriteString(e.Type.phrase())
	if e.showsValue() {
		b.WriteString(": ")
		b.WriteString(renderValue(e.BadValue))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *Error) showsValue() bool {
	switch e.Type {
	case ErrorTypeRequired, ErrorTypeForbidden, ErrorTypeTooLong, ErrorTypeInternal:
		return false
	}
	return e.BadValue != nil
}

// renderValue shows a bad value as Kubernetes does: strings quoted,
// including those of a named string type (a selector's operator), which
// Kubernetes renders as JSON.
func renderValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case *string:
		if v == nil {
			return "null"
		}
		return strconv.Quote(*v)
	case fmt.Stringer:
		return v.String()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return strconv.Quote(rv.String())
	}
	return fmt.Sprintf("%v", v)
}

// Required reports a missing value.
func Required(p *Path, detail string) *Error {
	return &Error{Type: ErrorTypeRequired, Field: p.String(), Detail: detail}
}

// Invalid reports a value that is not acceptable.
func Invalid(p *Path, value any, detail string) *Error {
	return &Error{Type: ErrorTypeInvalid, Field: p.String(), BadValue: value, Detail: detail}
}

// Duplicate reports a value that must be unique but is not.
func Duplicate(p *Path, value any) *Error {
	return &Error{Type: ErrorTypeDuplicate, Field: p.String(), BadValue: value}
}

// NotSupported reports a value outside an enumeration.
func NotSupported(p *Path, value any, supported []string) *Error {
	quoted := make([]string, len(supported))
	for i, s := range supported {
		quoted[i] = strconv.Quote(s)
	}
	detail := ""
	if len(supported) > 0 {
		detail = "supported values: " + strings.Join(quoted, ", ")
	}
	return &Error{Type: ErrorTypeNotSupported, Field: p.String(), BadValue: value, Detail: detail}
}

// NotFound reports a reference to something that does not exist.
func NotFound(p *Path, value any) *Error {
	return &Error{Type: ErrorTypeNotFound, Field: p.String(), BadValue: value}
}

// Forbidden reports a field that may not be set or changed.
func Forbidden(p *Path, detail string) *Error {
	return &Error{Type: ErrorTypeForbidden, Field: p.String(), Detail: detail}
}

// TooLong reports a value over its length limit.
func TooLong(p *Path, max int) *Error {
	unit := "bytes"
	if max == 1 {
		unit = "byte"
	}
	return &Error{Type: ErrorTypeTooLong, Field: p.String(),
		Detail: fmt.Sprintf("may not be more than %d %s", max, unit)}
}

// TooMany reports a list or map with more entries than allowed; a
// negative actual is left out of the message.
func TooMany(p *Path, actual, max int) *Error {
	unit := "items"
	if max == 1 {
		unit = "item"
	}
	var value any
	if actual >= 0 {
		value = actual
	}
	return &Error{Type: ErrorTypeTooMany, Field: p.String(), BadValue: value,
		Detail: fmt.Sprintf("must have at most %d %s", max, unit)}
}

// TypeInvalid reports a value of the wrong type.
func TypeInvalid(p *Path, value any, detail string) *Error {
	return &Error{Type: ErrorTypeTypeInvalid, Field: p.String(), BadValue: value, Detail: detail}
}

// InternalError reports a failure of the server rather than of the request.
func InternalError(p *Path, err error) *Error {
	return &Error{Type: ErrorTypeInternal, Field: p.String(), Detail: err.Error()}
}

// ErrorList collects the errors of one validation.
type ErrorList []*Error

// Error joins the errors the way Kubernetes' aggregate does.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}
