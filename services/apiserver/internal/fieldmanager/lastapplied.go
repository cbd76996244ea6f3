package fieldmanager

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// lastAppliedAnnotation is where kubectl's client-side apply keeps the
// configuration it last applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// lastAppliedFields are the fields live's last-applied annotation sets to
// the values live still has: those client-side apply owns for kubectl.
func (m *Manager) lastAppliedFields(live map[string]any) (*fieldpath.Set, error) {
	text := (&unstructured.Unstructured{Object: live}).GetAnnotations()[lastAppliedAnnotation]
	if text == "" {
		return nil, errors.New("no last applied annotation")
	}
	var last map[string]any
	if err := utiljson.Unmarshal([]byte(text), &last); err != nil {
		return nil, fmt.Errorf("decode last applied object: %w", err)
	}
	if v := (&unstructured.Unstructured{Object: last}).GetAPIVersion(); v != string(m.version) {
		return nil, fmt.Errorf("last applied object is of version %q, want %q", v, m.version)
	}
	liveTyped, err := m.toTyped(live)
	if err != nil {
		return nil, fmt.Errorf("read live object: %w", err)
	}
	lastTyped, err := m.tc.ObjectToTyped(&unstructured.Unstructured{Object: last})
	if err != nil {
		return nil, fmt.Errorf("read last applied object: %w", err)
	}
	set, err := lastTyped.ToFieldSet()
	if err != nil {
		return nil, fmt.Errorf("fields of last applied object: %w", err)
	}
	cmp, err := lastTyped.Compare(liveTyped)
	if err != nil {
		return nil, fmt.Errorf("compare last applied and live objects: %w", err)
	}
	return set.Difference(cmp.Modified).Difference(cmp.Added).Difference(cmp.Removed), nil
}

// syncLastApplied keeps an object's last-applied annotation, where it has
// one, equal to the configuration kubectl applied server-side, so a later
// client-side apply computes its patch from it. An annotation that would
// take the object's annotations past their size limit is dropped.
func syncLastApplied(obj, cfg map[string]any) error {
	target := &unstructured.Unstructured{Object: obj}
	annotations := target.GetAnnotations()
	if annotations[lastAppliedAnnotation] == "" {
		return nil
	}
	applied := &unstructured.Unstructured{Object: copyObject(cfg)}
	cfgAnnotations := applied.GetAnnotations()
	delete(cfgAnnotations, lastAppliedAnnotation)
	applied.SetAnnotations(cfgAnnotations)
	text, err := runtime.Encode(unstructured.UnstructuredJSONScheme, applied)
	if err != nil {
		return fmt.Errorf("encode applied configuration: %w", err)
	}
	annotations[lastAppliedAnnotation] = string(text)
	if validation.ValidateAnnotationsSize(annotations) != nil {
		delete(annotations, lastAppliedAnnotation)
	}
	target.SetAnnotations(annotations)
	return nil
}
