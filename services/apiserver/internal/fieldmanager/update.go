package fieldmanager

import (
	"fmt"
	"skiff.dev/services/apiserver/internal/jsonvalue"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// currentOperation stands for the write being recorded until it is known
// to have changed something.
const currentOperation = "current-operation"

// Update records a write by other means than apply (create when live is
// nil, update, patch) by manager through subresource: obj is the new
// object as written; the result is a copy of obj with managedFields
// updated as Kubernetes does.
//
// The managed fields to start from are those obj carries when they are
// valid and not empty, live's otherwise (so a client that drops them
// loses nothing, and invalid ones are ignored); an empty list, or a list
// of one empty entry, resets them. A write through a subresource always
// starts from live's. The fields the write changed then move to an
// "Update" entry of manager at the served apiVersion and subresource,
// whose time becomes now; a write that changes nothing leaves times as
// they were. An object that exists (live has a uid) and that no manager
// tracks stays untracked.
//
// On failure (obj does not fit the schema, say), Kubernetes keeps live's
// managed fields and lets the write go on: the result is then obj with
// live's managedFields, returned with the error for the caller to log.
func (m *Manager) Update(live, obj map[string]any, manager, subresource string, now time.Time) (map[string]any, error) {
	out, mf, tracked, err := m.update(live, obj, manager, subresource, now)
	if err == nil && tracked {
		err = m.writeManaged(out, mf)
	}
	if err != nil {
		keepLiveEntries(out, live)
		return out, fmt.Errorf("record update of %s by %q: %w", describe(obj), manager, err)
	}
	return out, nil
}

// UpdateEntries is Update for a caller that keeps the object typed: it
// returns the new managedFields entries alone (live's on failure, with
// the error; obj's own, whatever they are, when the object stays
// untracked), saving the result's conversion.
func (m *Manager) UpdateEntries(live, obj map[string]any, manager, subresource string, now time.Time) ([]metav1.ManagedFieldsEntry, error) {
	_, mf, tracked, err := m.update(live, obj, manager, subresource, now)
	if err != nil {
		entries, _ := readEntries(live)
		return entries, fmt.Errorf("record update of %s by %q: %w", describe(obj), manager, err)
	}
	if !tracked {
		return nil, nil
	}
	return encode(mf)
}

// update computes an Update's managed fields; tracked is false for an
// existing object that no manager tracks, which stays so.
func (m *Manager) update(live, obj map[string]any, manager, subresource string, now time.Time) (out map[string]any, mf managed, tracked bool, err error) {
	creating := live == nil || (&unstructured.Unstructured{Object: live}).GetUID() == ""
	if live == nil {
		live = m.emptyObject()
	}
	start := m.startingFields(live, obj, subresource != "")
	out = copyObject(obj)
	liveBare := copyObject(live)
	dropEntries(out)
	dropEntries(liveBare)
	if len(start.fields) == 0 && !creating {
		return out, managed{}, false, nil
	}
	mf, err = m.trackUpdate(liveBare, out, start, manager, subresource, now)
	return out, mf, err == nil, err
}

// keepLiveEntries gives out live's metadata.managedFields as they are.
func keepLiveEntries(out, live map[string]any) {
	dropEntries(out)
	liveMeta, _ := live["metadata"].(map[string]any)
	entries, ok := liveMeta["managedFields"]
	if !ok {
		return
	}
	meta, ok := out["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		out["metadata"] = meta
	}
	meta["managedFields"] = jsonvalue.Copy(entries)
}

// startingFields picks the managed fields an update starts from.
func (m *Manager) startingFields(live, obj map[string]any, fromLive bool) managed {
	liveFields := func() managed {
		mf, err := decodeObject(live)
		if err != nil {
			return emptyManaged()
		}
		return mf
	}
	if fromLive {
		return liveFields()
	}
	entries, err := readEntries(obj)
	if err == nil && isReset(entries) {
		return emptyManaged()
	}
	if err == nil {
		mf, err := decode(entries)
		if err == nil && len(mf.fields) > 0 {
			return mf
		}
	}
	return liveFields()
}

// trackUpdate records an update by the named manager and caps the Update
// entries.
func (m *Manager) trackUpdate(live, obj map[string]any, mf managed, manager, subresource string, now time.Time) (managed, error) {
	if manager == "" {
		manager = "unknown"
	}
	id := managerID(manager, metav1.ManagedFieldsOperationUpdate, string(m.version), subresource)
	mf, err := m.recordUpdate(live, obj, mf, id, subresource, now)
	if err != nil {
		return managed{}, err
	}
	capUpdateManagers(mf, maxUpdateManagers)
	return mf, nil
}

// recordUpdate gives id the fields that differ from live to obj, taking
// them from every other manager. Neither object may carry managedFields.
func (m *Manager) recordUpdate(live, obj map[string]any, mf managed, id, subresource string, now time.Time) (managed, error) {
	liveTyped, err := m.toTyped(live, typed.AllowDuplicates)
	if err != nil {
		return managed{}, fmt.Errorf("read live object (%s): %w", describe(live), err)
	}
	newTyped, err := m.toTyped(obj, typed.AllowDuplicates)
	if err != nil {
		return managed{}, fmt.Errorf("read new object (%s): %w", describe(obj), err)
	}
	_, fields, err := m.updater(subresource).Update(liveTyped, newTyped, m.version, mf.fields, currentOperation)
	if err != nil {
		return managed{}, fmt.Errorf("update managed fields (%s): %w", describe(obj), err)
	}
	stripIdentity(fields, currentOperation)
	times := mf.clone().times
	if vs, ok := fields[currentOperation]; ok {
		delete(fields, currentOperation)
		if prev, ok := fields[id]; ok {
			vs = fieldpath.NewVersionedSet(vs.Set().Union(prev.Set()), vs.APIVersion(), vs.Applied())
		}
		fields[id] = vs
		times[id] = stamp(now)
	}
	return managed{fields: fields, times: times}, nil
}

// writeManaged encodes mf into obj's metadata.managedFields.
func (m *Manager) writeManaged(obj map[string]any, mf managed) error {
	entries, err := encode(mf)
	if err != nil {
		return err
	}
	return writeEntries(obj, entries)
}
