package customresource

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
)

// scaled is a version's backend when the CRD declares the scale
// subresource: the Scale reads and writes the object at the CRD's paths.
type scaled struct {
	*registry.Store
	res   *registry.Resource
	paths *apiextensionsv1.CustomResourceSubresourceScale
	split bool
}

var _ registry.Scaler = scaled{}

// GetScale reads the replicas and selector at the CRD's paths.
func (s scaled) GetScale(ctx context.Context, namespace, name string) (*autoscalingv1.Scale, error) {
	obj, err := s.Get(ctx, namespace, name, registry.GetOptions{})
	if err != nil {
		return nil, err
	}
	return s.scaleOf(obj.(*apiextensionsv1.CustomObject))
}

// UpdateScale writes spec replicas at specReplicasPath.
func (s scaled) UpdateScale(ctx context.Context, namespace, name string, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	replicas := scale.GetSpec().GetReplicas()
	if replicas < 0 {
		errs := field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), replicas, "must be greater than or equal to 0")}
		return nil, apierrors.NewInvalid(apierrors.Resource{Group: "autoscaling", Resource: s.res.Plural, Kind: "Scale"}, name, errs)
	}
	current, err := s.Get(ctx, namespace, name, registry.GetOptions{})
	if err != nil {
		return nil, err
	}
	next := proto.Clone(current).(*apiextensionsv1.CustomObject)
	if rv := scale.GetMetadata().GetResourceVersion(); rv != "" {
		next.Metadata.ResourceVersion = rv
	}
	m, err := unstructured(next)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	set(m, s.paths.GetSpecReplicasPath(), int64(replicas))
	if err := store(next, m, s.split); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out, err := s.Update(ctx, next, registry.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return s.scaleOf(out.(*apiextensionsv1.CustomObject))
}

func (s scaled) scaleOf(obj *apiextensionsv1.CustomObject) (*autoscalingv1.Scale, error) {
	m, err := unstructured(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	meta := obj.GetMetadata()
	sc := &autoscalingv1.Scale{
		Kind: "Scale", ApiVersion: "autoscaling/v1",
		Metadata: &metav1.ObjectMeta{Name: meta.GetName(), Namespace: meta.GetNamespace(), Uid: meta.GetUid(),
			ResourceVersion: meta.GetResourceVersion(), CreationTimestamp: meta.GetCreationTimestamp()},
		Spec: &autoscalingv1.ScaleSpec{}, Status: &autoscalingv1.ScaleStatus{},
	}
	if v, ok := lookup(m, s.paths.GetSpecReplicasPath()); ok {
		n, ok := v.(int64)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the value at %s is not an integer", s.paths.GetSpecReplicasPath()))
		}
		sc.Spec.Replicas = int32(n)
	}
	if v, ok := lookup(m, s.paths.GetStatusReplicasPath()); ok {
		if n, ok := v.(int64); ok {
			sc.Status.Replicas = int32(n)
		}
	}
	if p := s.paths.GetLabelSelectorPath(); p != "" {
		if v, ok := lookup(m, p); ok {
			if sel, ok := v.(string); ok {
				sc.Status.Selector = sel
			}
		}
	}
	return sc, nil
}
