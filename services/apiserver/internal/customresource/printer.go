package customresource

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/duration"
	kjsonutil "k8s.io/apimachinery/pkg/util/json"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/printers"
)

// ageColumn is the column of a version that declares none, as Kubernetes
// gives it.
var ageColumn = &apiextensionsv1.CustomResourceColumnDefinition{
	Name: "Age", Type: "date", JsonPath: ".metadata.creationTimestamp",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created. " +
		"It is not guaranteed to be set in happens-before order across separate operations. " +
		"Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\n" +
		"Populated by the system. Read-only. Null for lists. More info: " +
		"https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}

// printer renders a version's additionalPrinterColumns: the name, then
// each column's value at its JSON path, typed as the column says.
func printer(columns []*apiextensionsv1.CustomResourceColumnDefinition) *printers.Printer {
	if len(columns) == 0 {
		columns = []*apiextensionsv1.CustomResourceColumnDefinition{ageColumn}
	}
	p := &printers.Printer{Columns: []*metav1.TableColumnDefinition{{
		Name: "Name", Type: "string", Format: "name",
		Description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
	}}}
	for _, c := range columns {
		desc := c.GetDescription()
		if desc == "" {
			desc = "Custom resource definition column (in JSONPath format): " + c.GetJsonPath()
		}
		p.Columns = append(p.Columns, &metav1.TableColumnDefinition{
			Name: c.GetName(), Type: c.GetType(), Format: c.GetFormat(), Description: desc, Priority: c.GetPriority(),
		})
	}
	p.Cells = func(obj proto.Message, now time.Time) []any {
		cells := []any{obj.(*apiextensionsv1.CustomObject).GetMetadata().GetName()}
		m := whole(obj)
		for _, c := range columns {
			v, ok := lookup(m, c.GetJsonPath())
			if !ok {
				cells = append(cells, nil)
				continue
			}
			cells = append(cells, cell(c.GetType(), v, now))
		}
		return cells
	}
	return p
}

// whole is the entire object, metadata included, as unstructured JSON.
func whole(obj proto.Message) map[string]any {
	data, err := kjson.Marshal(obj)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := kjsonutil.Unmarshal(data, &m); err != nil {
		return nil
	}
	return m
}

// cell converts a value to its column's type; a value of another type is
// an empty cell, as in Kubernetes.
func cell(typ string, v any, now time.Time) any {
	if v == nil {
		return nil
	}
	switch typ {
	case "integer":
		switch n := v.(type) {
		case int64:
			return n
		case float64:
			return int64(n)
		}
	case "number":
		switch n := v.(type) {
		case int64:
			return float64(n)
		case float64:
			return n
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b
		}
	case "date":
		s, ok := v.(string)
		if !ok {
			return nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "<invalid>"
		}
		return duration.HumanDuration(now.Sub(t))
	case "string":
		switch s := v.(type) {
		case string:
			return s
		case map[string]any, []any:
			data, _ := json.Marshal(s)
			return string(data)
		default:
			return fmt.Sprint(s)
		}
	}
	return nil
}
