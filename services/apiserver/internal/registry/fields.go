package registry

import (
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	k8smetav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjsonutil "k8s.io/apimachinery/pkg/util/json"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/object"
)

// track records a write by other means than apply in obj's
// metadata.managedFields, as Kubernetes' field manager does on every
// create, update and patch: the fields the write changed belong to its
// manager from now on. live is nil on a create. A kind without a field
// manager keeps what it has; a write that cannot be tracked keeps live's
// entries and goes on, as in Kubernetes.
func (s *Store) track(live, obj proto.Message, manager, subresource string) {
	fm := s.res.FieldManager
	if fm == nil {
		return
	}
	var liveMap map[string]any
	var err error
	if live != nil {
		if liveMap, err = s.unstructured(live); err != nil {
			slog.Warn("managed fields not tracked", "kind", s.res.Kind, "err", err)
			return
		}
	}
	objMap, err := s.unstructured(obj)
	if err != nil {
		slog.Warn("managed fields not tracked", "kind", s.res.Kind, "err", err)
		return
	}
	entries, err := fm.UpdateEntries(liveMap, objMap, manager, subresource, s.now())
	if err != nil {
		slog.Debug("managed fields of a write not tracked", "kind", s.res.Kind, "err", err)
	}
	object.Meta(obj).ManagedFields = fromEntries(entries)
	if live != nil {
		keepTimesOfNoOp(obj, live)
	}
}

// ManagerFromUserAgent is the field manager of a write that names none,
// as Kubernetes derives it: the User-Agent before its first "/"
// (kubectl/v1.32.0 ... is kubectl), at most 128 characters.
func ManagerFromUserAgent(userAgent string) string {
	name, _, _ := strings.Cut(userAgent, "/")
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// unstructured is obj as Kubernetes JSON in a map, with its apiVersion and
// kind (the field manager reads them), integers as int64.
func (s *Store) unstructured(obj proto.Message) (map[string]any, error) {
	data, err := kjson.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", s.res.Kind, err)
	}
	var m map[string]any
	if err := kjsonutil.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.res.Kind, err)
	}
	m["apiVersion"], m["kind"] = s.res.GroupVersion(), s.res.Kind
	return m, nil
}

// fromEntries converts the field manager's entries to the contract's.
func fromEntries(entries []k8smetav1.ManagedFieldsEntry) []*metav1.ManagedFieldsEntry {
	if len(entries) == 0 {
		return nil
	}
	out := make([]*metav1.ManagedFieldsEntry, len(entries))
	for i, e := range entries {
		pe := &metav1.ManagedFieldsEntry{Manager: e.Manager, Operation: string(e.Operation), ApiVersion: e.APIVersion,
			FieldsType: e.FieldsType, Subresource: e.Subresource}
		if e.Time != nil {
			pe.Time = timestamppb.New(e.Time.Time)
		}
		if e.FieldsV1 != nil {
			pe.FieldsV1 = &metav1.FieldsV1{Raw: e.FieldsV1.Raw}
		}
		out[i] = pe
	}
	return out
}

// keepTimesOfNoOp gives obj's entries live's times back when the write
// changes nothing else (a change the strategy reset, say), so it changes
// nothing in storage either, as Kubernetes' registry does.
func keepTimesOfNoOp(obj, live proto.Message) {
	om, lm := object.Meta(obj), object.Meta(live)
	if len(om.GetManagedFields()) == 0 || len(om.GetManagedFields()) != len(lm.GetManagedFields()) {
		return
	}
	for i, e := range om.GetManagedFields() {
		a, b := proto.Clone(e).(*metav1.ManagedFieldsEntry), proto.Clone(lm.GetManagedFields()[i]).(*metav1.ManagedFieldsEntry)
		a.Time, b.Time = nil, nil
		if !proto.Equal(a, b) {
			return
		}
	}
	a, b := proto.Clone(obj), proto.Clone(live)
	object.Meta(a).ManagedFields, object.Meta(b).ManagedFields = nil, nil
	if !proto.Equal(a, b) {
		return
	}
	for i, e := range om.GetManagedFields() {
		e.Time = lm.GetManagedFields()[i].GetTime()
	}
}
