package customresource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// cleanUp is the customresourcecleanup finalizer at work on a deleted
// definition: creates are refused, every object is deleted, and once
// none remain the finalizer is removed and the definition goes. It
// reports whether to look again (objects still held by their own
// finalizers).
func (c *Controller) cleanUp(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (bool, error) {
	if !crdnames.NeedsCleanup(crd) {
		return false, nil // other finalizers hold it; nothing of ours to do
	}
	name := crd.GetMetadata().GetName()
	in := c.installed[name]
	var cond *apiextensionsv1.CustomResourceDefinitionCondition
	again := false
	switch {
	case !crdnames.IsEstablished(crd) && in == nil:
		cond = crdnames.NeverEstablished()
	case crdnames.OverlapsBuiltIn(crd.GetSpec().GetGroup(), crd.GetSpec().GetNames().GetPlural()):
		cond = crdnames.OverlappingBuiltInResource()
	default:
		if in == nil {
			// Not served by this apiserver yet (it just started): serve
			// it to reach its objects.
			if err := c.install(ctx, crd); err != nil {
				return true, err
			}
			in = c.installed[name]
		}
		c.refuseCreates(in)
		cond, again = c.deleteObjects(ctx, in)
	}
	next := proto.Clone(crd).(*apiextensionsv1.CustomResourceDefinition)
	crdnames.SetCondition(next, cond, time.Now())
	if !again {
		crdnames.RemoveCleanupFinalizer(next)
	}
	if _, err := c.CRDs.UpdateStatus(ctx, next, registry.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return true, err
	}
	if again {
		return true, nil
	}
	// A status write keeps the metadata it is given: the finalizer is gone
	// and so is the definition.
	c.uninstall(name)
	return false, nil
}

// deleteObjects deletes every object of the definition and says how far
// it got; true means objects remain.
func (c *Controller) deleteObjects(ctx context.Context, in *installed) (*apiextensionsv1.CustomResourceDefinitionCondition, bool) {
	var b registry.Backend
	for _, backend := range in.backends {
		b = backend
		break
	}
	if b == nil {
		return crdnames.InstanceDeletionCompleted(), false
	}
	list, err := b.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return crdnames.InstanceListFailed(err), true
	}
	var errs []error
	for _, it := range object.Items(list) {
		m := object.Meta(it)
		if m.GetDeletionTimestamp() != nil {
			continue
		}
		// As Kubernetes' finalizer, without admission: no webhook may
		// keep a deleted definition's objects.
		if _, err := b.Delete(registry.WithoutAdmission(ctx), m.GetNamespace(), m.GetName(), nil); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s/%s: %w", m.GetNamespace(), m.GetName(), err))
		}
	}
	if len(errs) > 0 {
		return crdnames.InstanceDeletionFailed(errors.Join(errs...)), true
	}
	left, err := b.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return crdnames.InstanceDeletionCheck(err), true
	}
	if n := len(object.Items(left)); n > 0 {
		return crdnames.InstanceDeletionCheck(fmt.Errorf("%d remaining", n)), true
	}
	return crdnames.InstanceDeletionCompleted(), false
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
