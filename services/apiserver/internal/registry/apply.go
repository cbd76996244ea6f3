package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	kjsonutil "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/fieldmanager"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/storage"
	"skiff.dev/services/apiserver/internal/warning"
)

// ApplyThrough is a server-side apply (application/apply-patch+yaml): the
// body is the manager's whole intent for the fields it names; the field
// manager merges it into the stored object (or a new one) and records
// ownership, and the result is created or updated through `through`: the
// store itself, or a backend wrapping it whose writes do more (a
// Service's allocations). A write that lost a race is applied again.
func (s *Store) ApplyThrough(ctx context.Context, namespace, name string, p Patch, opts UpdateOptions, through Backend) (proto.Message, error) {
	cfg, err := applyConfig(ctx, p.Data, opts.FieldValidation)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		current, err := s.storage.Get(ctx, namespace, name)
		exists := err == nil
		if err != nil && !storage.IsNotFound(err) {
			return nil, s.storageError(err, name)
		}
		var live map[string]any
		if exists {
			s.finish(current)
			if live, err = s.unstructured(current); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
		}
		merged, err := s.res.FieldManager.Apply(live, cfg, opts.FieldManager, opts.Subresource, opts.Force, s.now())
		if err != nil {
			return nil, applyError(err)
		}
		obj, err := s.decodeApplied(ctx, merged, opts.FieldValidation)
		if err != nil {
			return nil, err
		}
		meta := object.Meta(obj)
		if meta.GetName() != name || (s.res.Namespaced && meta.GetNamespace() != "" && meta.GetNamespace() != namespace) {
			return nil, apierrors.NewBadRequest("the name or namespace of the applied object does not match the request's")
		}
		meta.Namespace = namespace
		if !exists {
			if opts.Subresource != "" {
				return nil, apierrors.NewNotFound(s.res.ErrorResource(), name)
			}
			out, err := through.Create(ctx, obj, CreateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager,
				FieldValidation: opts.FieldValidation, applied: true})
			if apierrors.ReasonOf(err) == apierrors.ReasonAlreadyExists && attempt < maxPatchRetries {
				continue
			}
			return out, err
		}
		meta.ResourceVersion = object.Meta(current).GetResourceVersion()
		opts.applied = true
		out, err := updateThrough(ctx, through, obj, opts, s.res)
		if apierrors.IsConflict(err) && attempt < maxPatchRetries {
			continue
		}
		return out, err
	}
}

// applyConfig reads an apply body (YAML or JSON) as an object. A key given
// twice in one map refuses it under fieldValidation=Strict and is a
// warning under Warn (the default), as in Kubernetes; the last one counts.
func applyConfig(ctx context.Context, data []byte, level string) (map[string]any, error) {
	if level != "Ignore" {
		if _, err := yaml.YAMLToJSONStrict(data); err != nil {
			if level == "Strict" {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding YAML: %v", err))
			}
			warning.Add(ctx, err.Error())
		}
	}
	js, err := kjson.YAMLToJSON(data)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the apply body cannot be read: %v", err))
	}
	var cfg map[string]any
	if err := kjsonutil.Unmarshal(js, &cfg); err != nil || cfg == nil {
		return nil, apierrors.NewBadRequest("the apply body must be an object")
	}
	return cfg, nil
}

// decodeApplied reads the merged object into the kind's message, unknown
// fields as fieldValidation says.
func (s *Store) decodeApplied(ctx context.Context, merged map[string]any, level string) (proto.Message, error) {
	data, err := json.Marshal(merged)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return s.decodePatched(ctx, data, level)
}

// applyError is a field manager's refusal as the Status Kubernetes gives.
func applyError(err error) error {
	var conflict *fieldmanager.ConflictError
	var bad *fieldmanager.BadRequestError
	switch {
	case errors.As(err, &conflict):
		se := apierrors.NewConflict(apierrors.Resource{}, "", "")
		se.Status.Message = conflict.Error()
		causes := make([]*metav1.StatusCause, len(conflict.Conflicts))
		for i, c := range conflict.Conflicts {
			causes[i] = &metav1.StatusCause{Reason: "FieldManagerConflict", Message: c.Message, Field: c.Field}
		}
		se.Status.Details = &metav1.StatusDetails{Causes: causes}
		return se
	case errors.As(err, &bad):
		return apierrors.NewBadRequest(bad.Message)
	}
	return apierrors.NewInternalError(err)
}
