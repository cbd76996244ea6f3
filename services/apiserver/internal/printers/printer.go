// Package printers renders objects as the rows of a meta.k8s.io/v1 Table,
// the server-side printing behind `kubectl get`: the columns kubectl users
// know for each kind, with `-o wide` columns at priority 1.
package printers

import (
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/duration"

	metav1 "skiff.dev/api/meta/v1"
)

// Printer renders one kind.
type Printer struct {
	Columns []*metav1.TableColumnDefinition
	// Cells returns one value per column: string, int64, int32, bool or
	// float64, ready for JSON.
	Cells func(obj proto.Message, now time.Time) []any
	// Order sorts a list's rows as Kubernetes prints them; nil keeps the
	// list's order.
	Order func(a, b proto.Message) int
}

// typedOrder adapts a typed comparison to the Printer signature.
func typedOrder[T proto.Message](f func(a, b T) int) func(a, b proto.Message) int {
	return func(a, b proto.Message) int { return f(a.(T), b.(T)) }
}

var printers = map[string]*Printer{}

// register adds the printer of group/kind; kinds call it from init.
func register(group, kind string, p *Printer) {
	printers[group+"/"+kind] = p
}

// For returns the printer of a kind, or the NAME/AGE default.
func For(group, kind string) *Printer {
	if p, ok := printers[group+"/"+kind]; ok {
		return p
	}
	return defaultPrinter
}

var defaultPrinter = &Printer{
	Columns: []*metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Age", Type: "string", Description: "Time since the object was created."},
	},
	Cells: func(obj proto.Message, now time.Time) []any {
		meta := metaOf(obj)
		return []any{meta.GetName(), Age(meta, now)}
	},
}

func nameColumn() *metav1.TableColumnDefinition {
	return &metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: "Name must be unique within a namespace."}
}

// metaOf reads the metadata of any top-level message.
func metaOf(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	if fd == nil || !m.Has(fd) {
		return &metav1.ObjectMeta{}
	}
	return m.Get(fd).Message().Interface().(*metav1.ObjectMeta)
}

// Age is the object's age as kubectl prints it ("5m", "3d2h"), or
// "<unknown>".
func Age(meta *metav1.ObjectMeta, now time.Time) string {
	ts := meta.GetCreationTimestamp()
	if ts == nil {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.AsTime()))
}
