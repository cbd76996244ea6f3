package registry

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/object"
)

// GetScale reads the scale subresource of a kind with spec.replicas,
// status.replicas and spec.selector (Deployment, ReplicaSet, and
// ReplicationController, whose selector is a map).
func (s *Store) GetScale(ctx context.Context, namespace, name string) (*autoscalingv1.Scale, error) {
	obj, err := s.Get(ctx, namespace, name, GetOptions{})
	if err != nil {
		return nil, err
	}
	return scaleOf(obj)
}

// UpdateScale sets spec.replicas from a Scale; a resourceVersion in the
// Scale must match the object's.
func (s *Store) UpdateScale(ctx context.Context, namespace, name string, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	replicas := scale.GetSpec().GetReplicas()
	if replicas < 0 {
		errs := field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), replicas, "must be greater than or equal to 0")}
		return nil, apierrors.NewInvalid(apierrors.Resource{Group: "autoscaling", Resource: s.res.Plural, Kind: "Scale"}, name, errs)
	}
	current, err := s.Get(ctx, namespace, name, GetOptions{})
	if err != nil {
		return nil, err
	}
	next := proto.Clone(current)
	if rv := scale.GetMetadata().GetResourceVersion(); rv != "" {
		object.Meta(next).ResourceVersion = rv
	}
	setReplicas(next, replicas)
	out, err := s.Update(ctx, next, UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return scaleOf(out)
}

func scaleOf(obj proto.Message) (*autoscalingv1.Scale, error) {
	meta := object.Meta(obj)
	spec := object.Part(obj, "spec")
	status := object.Part(obj, "status")
	sc := &autoscalingv1.Scale{
		Kind: "Scale", ApiVersion: "autoscaling/v1",
		Metadata: &metav1.ObjectMeta{Name: meta.GetName(), Namespace: meta.GetNamespace(), Uid: meta.GetUid(),
			ResourceVersion: meta.GetResourceVersion(), CreationTimestamp: meta.GetCreationTimestamp()},
		Spec:   &autoscalingv1.ScaleSpec{},
		Status: &autoscalingv1.ScaleStatus{},
	}
	if spec != nil {
		sc.Spec.Replicas = int32Field(spec, "replicas")
		if sel, ok := messageField(spec, "selector").(*metav1.LabelSelector); ok {
			str, err := selectorString(sel)
			if err != nil {
				return nil, err
			}
			sc.Status.Selector = str
		} else if set := mapField(spec, "selector"); set != nil {
			sc.Status.Selector = labels.SelectorFromSet(set).String() // a ReplicationController's
		}
	}
	if status != nil {
		sc.Status.Replicas = int32Field(status, "replicas")
	}
	return sc, nil
}

func int32Field(m proto.Message, name protoreflect.Name) int32 {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(name)
	if fd == nil {
		return 0
	}
	return int32(r.Get(fd).Int())
}

func messageField(m proto.Message, name protoreflect.Name) proto.Message {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(name)
	if fd == nil || fd.IsMap() || fd.IsList() || fd.Message() == nil || !r.Has(fd) {
		return nil
	}
	return r.Get(fd).Message().Interface()
}

// mapField is a map<string, string> field of m, nil when m has none or it
// is empty.
func mapField(m proto.Message, name protoreflect.Name) labels.Set {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(name)
	if fd == nil || !fd.IsMap() || fd.MapValue().Kind() != protoreflect.StringKind || r.Get(fd).Map().Len() == 0 {
		return nil
	}
	set := labels.Set{}
	r.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		set[k.String()] = v.String()
		return true
	})
	return set
}

func setReplicas(obj proto.Message, n int32) {
	r := obj.ProtoReflect()
	specFD := r.Descriptor().Fields().ByName("spec")
	spec := r.Mutable(specFD).Message()
	spec.Set(spec.Descriptor().Fields().ByName("replicas"), protoreflect.ValueOfInt32(n))
}

var selectorOps = map[string]selection.Operator{
	"In": selection.In, "NotIn": selection.NotIn, "Exists": selection.Exists, "DoesNotExist": selection.DoesNotExist,
}

// selectorString renders a LabelSelector as a selector string (Scale's
// status.selector).
func selectorString(sel *metav1.LabelSelector) (string, error) {
	s := labels.NewSelector()
	for k, v := range sel.GetMatchLabels() {
		req, err := labels.NewRequirement(k, "=", []string{v})
		if err != nil {
			return "", fmt.Errorf("selector %s=%s: %w", k, v, err)
		}
		s = s.Add(*req)
	}
	for _, e := range sel.GetMatchExpressions() {
		op, ok := selectorOps[e.GetOperator()]
		if !ok {
			return "", fmt.Errorf("selector %s: unknown operator %q", e.GetKey(), e.GetOperator())
		}
		req, err := labels.NewRequirement(e.GetKey(), op, e.GetValues())
		if err != nil {
			return "", fmt.Errorf("selector %s %s: %w", e.GetKey(), e.GetOperator(), err)
		}
		s = s.Add(*req)
	}
	return s.String(), nil
}
