package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/printers"
	"skiff.dev/services/apiserver/internal/registry"
)

// transform turns an object or list into what the client asked for: the
// object itself, a Table, or partial metadata.
func (h *Handler) transform(r *http.Request, res *registry.Resource, enc encoding, obj proto.Message) (proto.Message, error) {
	switch enc.as {
	case "Table":
		return h.table(r, res, obj, true)
	case "PartialObjectMetadata", "PartialObjectMetadataList":
		return partial(res, obj, enc.as)
	}
	return obj, nil
}

// isList tells a list message (it has items) from an object.
func isList(obj proto.Message) bool {
	return obj.ProtoReflect().Descriptor().Fields().ByName("items") != nil
}

// table renders obj (or each item of a list) as Table rows.
func (h *Handler) table(r *http.Request, res *registry.Resource, obj proto.Message, withColumns bool) (*metav1.Table, error) {
	include := r.URL.Query().Get("includeObject")
	switch include {
	case "":
		include = "Metadata"
	case "None", "Metadata", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject must be None, Metadata or Object, got %q", include))
	}
	p := res.Printer
	if p == nil {
		p = printers.For(res.Group, res.Kind)
	}
	t := &metav1.Table{Kind: "Table", ApiVersion: "meta.k8s.io/v1", Metadata: &metav1.ListMeta{}}
	if withColumns {
		t.ColumnDefinitions = p.Columns
	}
	items := []proto.Message{obj}
	if isList(obj) {
		items = object.Items(obj)
		lm := object.ListMeta(obj)
		t.Metadata = &metav1.ListMeta{ResourceVersion: lm.GetResourceVersion(), Continue: lm.GetContinue(),
			RemainingItemCount: lm.RemainingItemCount}
	} else {
		t.Metadata.ResourceVersion = object.Meta(obj).GetResourceVersion()
	}
	if p.Order != nil {
		items = slices.Clone(items)
		slices.SortStableFunc(items, p.Order)
	}
	now := time.Now()
	for _, item := range items {
		row, err := tableRow(res, p, item, include, now)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func tableRow(res *registry.Resource, p *printers.Printer, item proto.Message, include string, now time.Time) (*metav1.TableRow, error) {
	row := &metav1.TableRow{}
	for _, c := range p.Cells(item, now) {
		raw, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("render table cell of %s: %w", res.Kind, err)
		}
		row.Cells = append(row.Cells, &metav1.RawExtension{Raw: raw})
	}
	var embedded proto.Message
	switch include {
	case "Object":
		object.SetTypeMeta(item, res.GroupVersion(), res.Kind)
		embedded = item
	case "Metadata":
		embedded = &metav1.PartialObjectMetadata{Kind: "PartialObjectMetadata", ApiVersion: "meta.k8s.io/v1",
			Metadata: object.Meta(item)}
	}
	if embedded != nil {
		raw, err := kjson.Marshal(embedded)
		if err != nil {
			return nil, fmt.Errorf("render table object of %s: %w", res.Kind, err)
		}
		row.Object = &metav1.RawExtension{Raw: raw}
	}
	return row, nil
}

// partial renders metadata only.
func partial(res *registry.Resource, obj proto.Message, as string) (proto.Message, error) {
	if !isList(obj) {
		return &metav1.PartialObjectMetadata{Kind: "PartialObjectMetadata", ApiVersion: "meta.k8s.io/v1",
			Metadata: object.Meta(obj)}, nil
	}
	if as != "PartialObjectMetadataList" {
		return nil, apierrors.NewNotAcceptable(as + " for a list")
	}
	out := &metav1.PartialObjectMetadataList{Kind: "PartialObjectMetadataList", ApiVersion: "meta.k8s.io/v1",
		Metadata: object.ListMeta(obj)}
	for _, item := range object.Items(obj) {
		out.Items = append(out.Items, &metav1.PartialObjectMetadata{Metadata: object.Meta(item)})
	}
	return out, nil
}
