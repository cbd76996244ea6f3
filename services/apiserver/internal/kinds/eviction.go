package kinds

import (
	"context"

	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

var _ registry.Evictor = PodStore{}

// Evict evicts a pod within its PodDisruptionBudget (pods/eviction).
func (p PodStore) Evict(ctx context.Context, ev *policyv1.Eviction, dryRun bool) error {
	if p.Evictions == nil {
		return apierrors.NewNotFound(p.Resource().ErrorResource(), ev.GetMetadata().GetName()+"/eviction")
	}
	return p.Evictions.Evict(ctx, ev, dryRun)
}
