package registry

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"
	kjsonutil "k8s.io/apimachinery/pkg/util/json"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/fieldmanager"
	"skiff.dev/services/apiserver/internal/object"
)

// track records a write by other means than apply in obj's
// metadata.managedFields, as Kubernetes' field manager does on every
// create, update and patch: the fields the write changed belong to its
// manager from now on. live is nil on a create. A kind without a field
// manager, or a write that cannot be tracked, keeps what it has (the
// write goes on, as in Kubernetes).
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
	out, err := fm.Update(liveMap, objMap, manager, subresource, s.now())
	if err != nil {
		slog.Debug("managed fields of a write not tracked", "kind", s.res.Kind, "err", err)
	}
	if out == nil {
		return
	}
	if liveMap != nil {
		out = fieldmanager.IgnoreTimestampOnlyChanges(liveMap, out)
	}
	if err := setManagedFields(obj, out); err != nil {
		slog.Warn("managed fields not tracked", "kind", s.res.Kind, "err", err)
	}
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

// setManagedFields copies metadata.managedFields from the field manager's
// result into obj.
func setManagedFields(obj proto.Message, out map[string]any) error {
	meta, _ := out["metadata"].(map[string]any)
	entries := meta["managedFields"]
	data, err := json.Marshal(map[string]any{"managedFields": entries})
	if err != nil {
		return err
	}
	var m metav1.ObjectMeta
	if err := kjson.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("read managed fields: %w", err)
	}
	object.Meta(obj).ManagedFields = m.GetManagedFields()
	return nil
}
