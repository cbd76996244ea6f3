package fieldmanager

import (
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// beforeFirstApply owns the fields of an untracked object when it is
// first applied to.
const beforeFirstApply = "before-first-apply"

// BadRequestError is an apply request Kubernetes refuses with 400 Bad
// Request; Message is its text.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// Apply is a server-side apply of cfg (the apply request body, already
// decoded) by manager through subresource ("" or "status") onto live (nil
// when the object does not exist yet); it returns the new object with
// metadata.managedFields updated. A conflict without force returns
// *ConflictError; with force the manager takes the fields over. cfg must
// be of the served apiVersion and kind and carry no managedFields
// (*BadRequestError otherwise). Neither live nor cfg is changed.
//
// The applier owns exactly the fields cfg sets; those it owned before and
// no longer sets are removed from the object unless another manager owns
// them. An apply that changes nothing returns live as it was, times
// included. For the manager "kubectl", conflicts with the fields its
// client-side last-applied annotation still describes are forced, and that
// annotation, when present, follows cfg.
func (m *Manager) Apply(live, cfg map[string]any, manager, subresource string, force bool, now time.Time) (map[string]any, error) {
	if live == nil {
		live = m.emptyObject()
	}
	mf, err := decodeObject(live)
	if err != nil {
		return nil, fmt.Errorf("failed to decode managed fields: %w", err)
	}
	if gvk := (&unstructured.Unstructured{Object: cfg}).GroupVersionKind(); gvk != m.gvk {
		return nil, &BadRequestError{Message: fmt.Sprintf("invalid object type: %v", gvk)}
	}
	if entries, err := readEntries(cfg); err == nil && entries != nil {
		return nil, &BadRequestError{Message: "metadata.managedFields must be nil"}
	}
	live, cfg = copyObject(live), copyObject(cfg)
	dropEntries(live)

	out, mf, err := m.applyUpgrading(live, cfg, mf, manager, subresource, force, now)
	var conflicts merge.Conflicts
	if errors.As(err, &conflicts) {
		return nil, newConflictError(conflicts)
	}
	if err != nil {
		return nil, err
	}
	if manager == "kubectl" {
		if err := syncLastApplied(out, cfg); err != nil {
			return nil, fmt.Errorf("failed to set last-applied annotation: %w", err)
		}
	}
	if err := m.writeManaged(out, mf); err != nil {
		return nil, fmt.Errorf("failed to encode managed fields: %w", err)
	}
	return out, nil
}

// applyUpgrading applies, and for "kubectl" retries with force when every
// conflict is a field its client-side apply last set to the live value:
// the step from client-side to server-side apply conflicts with nobody
// but itself.
func (m *Manager) applyUpgrading(live, cfg map[string]any, mf managed, manager, subresource string, force bool, now time.Time) (map[string]any, managed, error) {
	out, result, err := m.applyOnce(live, cfg, mf, manager, subresource, force, now)
	var conflicts merge.Conflicts
	if manager != "kubectl" || !errors.As(err, &conflicts) {
		return out, result, err
	}
	allowed, lerr := m.lastAppliedFields(live)
	if lerr != nil {
		return out, result, err
	}
	if !conflicts.ToSet().Difference(allowed).Empty() {
		rest := merge.Conflicts{}
		for _, c := range conflicts {
			if !allowed.Has(c.Path) {
				rest = append(rest, c)
			}
		}
		return nil, managed{}, rest
	}
	return m.applyOnce(live, cfg, mf, manager, subresource, true, now)
}

// applyOnce merges cfg into live (which carries no managedFields) and
// computes the managed fields after it; a nil change returns live.
func (m *Manager) applyOnce(live, cfg map[string]any, mf managed, manager, subresource string, force bool, now time.Time) (map[string]any, managed, error) {
	mf, err := m.adoptUntracked(live, mf, subresource, now)
	if err != nil {
		return nil, managed{}, err
	}
	if manager == "" {
		manager = "unknown"
	}
	id := managerID(manager, metav1.ManagedFieldsOperationApply, "", subresource)

	cfgTyped, err := m.tc.ObjectToTyped(&unstructured.Unstructured{Object: cfg})
	if err != nil {
		return nil, managed{}, fmt.Errorf("failed to create typed patch object (%s): %w", describe(cfg), err)
	}
	liveTyped, err := m.toTyped(live, typed.AllowDuplicates)
	if err != nil {
		return nil, managed{}, fmt.Errorf("failed to create typed live object (%s): %w", describe(live), err)
	}
	merged, fields, err := m.updater(subresource).Apply(liveTyped, cfgTyped, m.version, mf.fields, id, force)
	if err != nil {
		return nil, managed{}, err
	}
	stripIdentity(fields, id)
	times := mf.clone().times
	if merged == nil {
		return copyObject(live), managed{fields: fields, times: times}, nil
	}
	out, ok := merged.AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, managed{}, fmt.Errorf("applied object (%s) is not an object", describe(cfg))
	}
	times[id] = stamp(now)
	return copyObject(out), managed{fields: fields, times: times}, nil
}

// adoptUntracked gives the fields of an object no manager tracks to
// before-first-apply, whom the first applier then conflicts with.
func (m *Manager) adoptUntracked(live map[string]any, mf managed, subresource string, now time.Time) (managed, error) {
	if len(mf.fields) > 0 {
		return mf, nil
	}
	mf, err := m.trackUpdate(m.emptyObject(), live, mf, beforeFirstApply, subresource, now)
	if err != nil {
		return managed{}, fmt.Errorf("failed to create manager for existing fields: %w", err)
	}
	return mf, nil
}
