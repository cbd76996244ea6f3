package servicealloc

import (
	"context"
	"errors"
	"fmt"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

// applyPatch is current with the patch applied, read back as a Service;
// unknown fields are refused, warned of or ignored as level says.
func applyPatch(ctx context.Context, current *corev1.Service, p registry.Patch, res *registry.Resource, level string) (*corev1.Service, error) {
	original, err := kjson.Marshal(current)
	if err != nil {
		return nil, fmt.Errorf("encode Service for patching: %w", err)
	}
	var meta = res.PatchMeta
	patched, err := registry.ApplyPatchJSON(original, p, meta)
	if err != nil {
		return nil, err
	}
	out := &corev1.Service{}
	err = kjson.Unmarshal(patched, out, kjson.Strict())
	var strict *kjson.StrictError
	if errors.As(err, &strict) {
		if level == "Strict" {
			return nil, apierrors.NewStrictDecoding(strict.Problems)
		}
		if level != "Ignore" {
			for _, pr := range strict.Problems {
				warning.Add(ctx, pr)
			}
		}
		out = &corev1.Service{}
		err = kjson.Unmarshal(patched, out)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch produced an object that cannot be read: %v", err))
	}
	return out, nil
}
