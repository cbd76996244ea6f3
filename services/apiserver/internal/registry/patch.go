package registry

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/warning"
)

// Patch content types.
const (
	PatchJSON      = "application/json-patch+json"
	PatchMerge     = "application/merge-patch+json"
	PatchStrategic = "application/strategic-merge-patch+json"
	PatchApply     = "application/apply-patch+yaml"
)

// maxPatchRetries bounds how often a patch is re-applied after losing a
// race with another writer.
const maxPatchRetries = 5

// Patch applies a patch document to the stored object and updates it.
func (s *Store) Patch(ctx context.Context, namespace, name string, p Patch, opts UpdateOptions) (proto.Message, error) {
	if !s.res.Namespaced {
		namespace = ""
	}
	if p.Type == PatchApply && s.res.FieldManager != nil {
		return s.ApplyThrough(ctx, namespace, name, p, opts, s)
	}
	if err := CheckPatchType(p.Type, s.res.PatchMeta); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		current, err := s.storage.Get(ctx, namespace, name)
		if err != nil {
			return nil, s.storageError(err, name)
		}
		s.finish(current)
		obj, err := s.applyPatch(ctx, current, p, opts.FieldValidation)
		if err != nil {
			return nil, err
		}
		if err := CheckPatchedIdentity(obj, namespace, name); err != nil {
			return nil, err
		}
		pinned := object.Meta(obj).GetResourceVersion() != object.Meta(current).GetResourceVersion()
		obj, err = updateThrough(ctx, s, obj, opts, s.res)
		if apierrors.IsConflict(err) && !pinned && attempt < maxPatchRetries {
			continue
		}
		return obj, err
	}
}

// CheckPatchedIdentity keeps a patch from moving the object, as
// Kubernetes' patch handler does: a namespace the patch removed is the
// request's again, a cluster-scoped object has none, and any other
// namespace or name than the request's is refused with 400.
func CheckPatchedIdentity(obj proto.Message, namespace, name string) error {
	meta := object.Meta(obj)
	switch ns := meta.GetNamespace(); {
	case ns == namespace:
	case ns == "":
		meta.Namespace = namespace
	case namespace == "":
		meta.Namespace = ""
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if meta.GetName() != name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", meta.GetName(), name))
	}
	return nil
}

// updateThrough writes obj through b by the subresource the options name
// (one of res's parts, or status, or the object).
func updateThrough(ctx context.Context, b Backend, obj proto.Message, opts UpdateOptions, res *Resource) (proto.Message, error) {
	_, isPart := res.Parts[opts.Subresource]
	pu, partUpdater := b.(PartUpdater)
	switch {
	case opts.Subresource == "status":
		return b.UpdateStatus(ctx, obj, opts)
	case isPart && partUpdater:
		return pu.UpdatePart(ctx, obj, opts)
	}
	return b.Update(ctx, obj, opts)
}

// applyPatch returns current with the patch applied.
func (s *Store) applyPatch(ctx context.Context, current proto.Message, p Patch, level string) (proto.Message, error) {
	original, err := kjson.Marshal(current)
	if err != nil {
		return nil, fmt.Errorf("encode %s for patching: %w", s.res.Kind, err)
	}
	patched, err := s.patchJSON(original, p)
	if err != nil {
		return nil, err
	}
	return s.decodePatched(ctx, patched, level)
}

// decodePatched reads the patched JSON, reporting unknown fields as
// fieldValidation asks: an error under Strict, warnings under Warn.
func (s *Store) decodePatched(ctx context.Context, patched []byte, level string) (proto.Message, error) {
	obj := s.res.New()
	err := kjson.Unmarshal(patched, obj, kjson.Strict())
	var strict *kjson.StrictError
	if errors.As(err, &strict) {
		if level == "Strict" {
			return nil, apierrors.NewStrictDecoding(strict.Problems)
		}
		if level != "Ignore" {
			for _, p := range strict.Problems {
				warning.Add(ctx, p)
			}
		}
		proto.Reset(obj)
		err = kjson.Unmarshal(patched, obj)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch produced an object that cannot be read: %v", err))
	}
	return obj, nil
}

func (s *Store) patchJSON(original []byte, p Patch) ([]byte, error) {
	return ApplyPatchJSON(original, p, s.res.PatchMeta)
}

// CheckPatchType refuses, with 415, a patch type the server cannot apply
// (server-side apply where no field manager is, strategic merge without
// patch metadata) before the object is looked up, as Kubernetes checks
// it first.
func CheckPatchType(patchType string, meta strategicpatch.LookupPatchMeta) error {
	switch patchType {
	case PatchJSON, PatchMerge:
		return nil
	case PatchStrategic:
		if meta != nil {
			return nil
		}
	}
	return apierrors.NewUnsupportedMediaType(patchType)
}

// MaxJSONPatchOperations bounds the operations of one JSON patch, as
// kube-apiserver does: a longer patch is refused with 413.
const MaxJSONPatchOperations = 10000

// MaxJSONPatchCopyBytes bounds how much the copy operations of one JSON
// patch may add to the document, as kube-apiserver bounds it (3 MiB):
// each copy may double the document, so without a bound a short patch of
// copies would grow it exponentially. A patch over the bound is refused
// with 422.
const MaxJSONPatchCopyBytes = 3 << 20

// The JSON patch library keeps the bound in a package variable; it is set
// once, before any request is served.
func init() { jsonpatch.AccumulatedCopySizeLimit = MaxJSONPatchCopyBytes }

// ApplyPatchJSON applies a JSON, merge or (with meta) strategic merge patch
// to a JSON document.
func ApplyPatchJSON(original []byte, p Patch, meta strategicpatch.LookupPatchMeta) ([]byte, error) {
	switch p.Type {
	case PatchJSON:
		ops, err := jsonpatch.DecodePatch(p.Data)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the JSON patch cannot be read: %v", err))
		}
		if len(ops) > MaxJSONPatchOperations {
			return nil, apierrors.NewRequestEntityTooLarge(fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d",
				MaxJSONPatchOperations, len(ops)))
		}
		out, err := withoutPanic("the JSON patch cannot be applied", func() ([]byte, error) { return ops.Apply(original) })
		if err != nil {
			return nil, apierrors.NewInvalidPatch(err)
		}
		return out, nil
	case PatchMerge:
		out, err := jsonpatch.MergePatch(original, p.Data)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the merge patch cannot be read: %v", err))
		}
		return out, nil
	case PatchStrategic:
		if meta == nil {
			return nil, apierrors.NewUnsupportedMediaType(p.Type)
		}
		out, err := withoutPanic("the strategic merge patch cannot be applied", func() ([]byte, error) {
			return strategicpatch.StrategicMergePatchUsingLookupPatchMeta(original, p.Data, meta)
		})
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the strategic merge patch cannot be applied: %v", err))
		}
		return out, nil
	default:
		return nil, apierrors.NewUnsupportedMediaType(p.Type)
	}
}

// withoutPanic runs apply, a patch library's call. The libraries panic on
// some malformed patches (a JSON patch replacing the whole document without
// a value; a strategic merge patch whose $retainKeys lists objects); such
// a patch is an error in the request, not a crash of the server.
func withoutPanic(what string, apply func() ([]byte, error)) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %v", what, r)
		}
	}()
	return apply()
}
