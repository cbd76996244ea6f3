package fieldmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// managed is metadata.managedFields decoded: each manager's fields and the
// time of its last change, keyed by manager identifier (managerID).
type managed struct {
	fields fieldpath.ManagedFields
	times  map[string]*metav1.Time
}

func emptyManaged() managed {
	return managed{fields: fieldpath.ManagedFields{}, times: map[string]*metav1.Time{}}
}

// managerID identifies an entry: its manager, operation and subresource,
// and for Update its apiVersion. It is the entry without fields and time,
// as JSON, as Kubernetes builds it.
func managerID(name string, op metav1.ManagedFieldsOperationType, apiVersion, subresource string) string {
	e := metav1.ManagedFieldsEntry{Manager: name, Operation: op, Subresource: subresource}
	if op != metav1.ManagedFieldsOperationApply {
		e.APIVersion = apiVersion
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("encode manager identifier: %v", err)) // strings always encode
	}
	return string(b)
}

// readEntries reads metadata.managedFields: nil when absent or null, an
// error when it is not a list of entries.
func readEntries(obj map[string]any) ([]metav1.ManagedFieldsEntry, error) {
	meta, _ := obj["metadata"].(map[string]any)
	v, ok := meta["managedFields"]
	if !ok || v == nil {
		return nil, nil
	}
	if _, ok := v.([]any); !ok {
		return nil, errors.New("metadata.managedFields is not a list")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var entries []metav1.ManagedFieldsEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("read metadata.managedFields: %w", err)
	}
	return entries, nil
}

// dropEntries removes metadata.managedFields.
func dropEntries(obj map[string]any) {
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
}

// writeEntries sets metadata.managedFields, or removes it for nil.
func writeEntries(obj map[string]any, entries []metav1.ManagedFieldsEntry) error {
	if entries == nil {
		dropEntries(obj)
		return nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	raw, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("encode managed fields: %w", err)
	}
	var list []any
	if err := utiljson.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("encode managed fields: %w", err)
	}
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta["managedFields"] = list
	return nil
}

// isReset tells a client's request to forget all managed fields: an
// empty list, or one empty entry.
func isReset(entries []metav1.ManagedFieldsEntry) bool {
	switch len(entries) {
	case 0:
		return entries != nil
	case 1:
		return reflect.DeepEqual(entries[0], metav1.ManagedFieldsEntry{})
	}
	return false
}

// decodeObject decodes obj's managed fields.
func decodeObject(obj map[string]any) (managed, error) {
	entries, err := readEntries(obj)
	if err != nil {
		return managed{}, err
	}
	return decode(entries)
}

// decode checks and decodes entries; of two entries with one identifier
// the later wins.
func decode(entries []metav1.ManagedFieldsEntry) (managed, error) {
	m := emptyManaged()
	for i, e := range entries {
		switch e.Operation {
		case metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate:
		default:
			return managed{}, errors.New("operation must be `Apply` or `Update`")
		}
		if e.APIVersion == "" {
			return managed{}, errors.New("apiVersion must not be empty")
		}
		switch e.FieldsType {
		case "FieldsV1":
		case "":
			return managed{}, fmt.Errorf("missing fieldsType in managed fields entry %d", i)
		default:
			return managed{}, fmt.Errorf("invalid fieldsType %q in managed fields entry %d", e.FieldsType, i)
		}
		set := fieldpath.NewSet()
		if e.FieldsV1 != nil {
			if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
				return managed{}, fmt.Errorf("decode fields of managed fields entry %d: %w", i, err)
			}
		}
		id := managerID(e.Manager, e.Operation, e.APIVersion, e.Subresource)
		m.fields[id] = fieldpath.NewVersionedSet(set, fieldpath.APIVersion(e.APIVersion), e.Operation == metav1.ManagedFieldsOperationApply)
		m.times[id] = e.Time
	}
	return m, nil
}

// encode turns managed fields back into sorted entries; nil when there
// are none.
func encode(m managed) ([]metav1.ManagedFieldsEntry, error) {
	if len(m.fields) == 0 {
		return nil, nil
	}
	entries := make([]metav1.ManagedFieldsEntry, 0, len(m.fields))
	for id, vs := range m.fields {
		var e metav1.ManagedFieldsEntry
		if err := json.Unmarshal([]byte(id), &e); err != nil {
			return nil, fmt.Errorf("read manager identifier %s: %w", id, err)
		}
		e.APIVersion = string(vs.APIVersion())
		if vs.Applied() {
			e.Operation = metav1.ManagedFieldsOperationApply
		}
		raw, err := vs.Set().ToJSON()
		if err != nil {
			return nil, fmt.Errorf("encode fields of %s: %w", id, err)
		}
		e.FieldsType = "FieldsV1"
		e.FieldsV1 = &metav1.FieldsV1{Raw: raw}
		e.Time = m.times[id]
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entryLess(entries[i], entries[j]) })
	return entries, nil
}

// entryLess orders entries: Apply before Update, then oldest first, then
// by manager, apiVersion and subresource.
func entryLess(p, q metav1.ManagedFieldsEntry) bool {
	if p.Operation != q.Operation {
		return p.Operation < q.Operation
	}
	if ps, qs := unixOf(p.Time), unixOf(q.Time); ps != qs {
		return ps < qs
	}
	if p.Manager != q.Manager {
		return p.Manager < q.Manager
	}
	if p.APIVersion != q.APIVersion {
		return p.APIVersion < q.APIVersion
	}
	return p.Subresource < q.Subresource
}

func unixOf(t *metav1.Time) int64 {
	if t == nil {
		return 0
	}
	return t.Unix()
}

func (m managed) clone() managed {
	return managed{fields: maps.Clone(m.fields), times: maps.Clone(m.times)}
}
