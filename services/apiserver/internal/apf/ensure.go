package apf

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// EnsureMandatory creates the mandatory priority levels and FlowSchemas
// that are missing and puts back the fixed spec (and the auto-update
// annotation) of those whose spec differs, as kube-apiserver does at
// start; the exempt level keeps its exempt settings, which admins may
// change. Another apiserver doing the same at once is no error.
func EnsureMandatory(ctx context.Context, flowSchemas, priorityLevels registry.Backend) error {
	for _, pl := range MandatoryPriorityLevels() {
		keep := func(cur proto.Message) {
			if e := cur.(*flowcontrolv1.PriorityLevelConfiguration).GetSpec().GetExempt(); e != nil && pl.GetSpec().GetExempt() != nil {
				pl.Spec.Exempt = proto.Clone(e).(*flowcontrolv1.ExemptPriorityLevelConfiguration)
			}
		}
		if err := ensure(ctx, priorityLevels, pl, keep); err != nil {
			return err
		}
	}
	for _, fs := range MandatoryFlowSchemas() {
		if err := ensure(ctx, flowSchemas, fs, func(proto.Message) {}); err != nil {
			return err
		}
	}
	return nil
}

// ensure creates want, or makes the stored object's spec want's after
// keep has taken into want what the stored object may keep.
func ensure(ctx context.Context, b registry.Backend, want proto.Message, keep func(cur proto.Message)) error {
	name := object.Meta(want).GetName()
	cur, err := b.Get(ctx, "", name, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = b.Create(ctx, want, registry.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return wrap(want, name, "create", err)
	}
	if err != nil {
		return wrap(want, name, "get", err)
	}
	keep(cur)
	meta := object.Meta(cur)
	if object.PartEqual(cur, want, "spec") && meta.GetAnnotations()[AutoUpdateAnnotation] == "true" {
		return nil
	}
	next := proto.Clone(cur)
	object.CopyPart(next, want, "spec")
	nm := object.Meta(next)
	if nm.Annotations == nil {
		nm.Annotations = map[string]string{}
	}
	nm.Annotations[AutoUpdateAnnotation] = "true"
	_, err = b.Update(ctx, next, registry.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return nil // another apiserver got there first
	}
	return wrap(want, name, "update", err)
}

func wrap(obj proto.Message, name, verb string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s mandatory %s %s: %w", verb, obj.ProtoReflect().Descriptor().Name(), name, err)
}
