package kinds

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// daemonSetStrategy has Kubernetes' rules for apps/v1 DaemonSet: the
// template generation (kept in the deprecated.daemonset.template.generation
// annotation) starts at 1 and goes up by one with each template change;
// status writes keep the stored labels and that annotation.
var daemonSetStrategy = registry.Strategy{
	PrepareForCreate: func(_ context.Context, obj proto.Message) {
		setTemplateGeneration(obj.(*appsv1.DaemonSet), 1)
	},
	Default:          mutate(defaults.DaemonSet),
	PrepareForUpdate: prepareDaemonSetUpdate,
	PrepareForStatusUpdate: keepMeta(func(m, old *metav1.ObjectMeta) {
		m.Labels = old.GetLabels()
		keepAnnotation(m, old, validate.DaemonSetTemplateGeneration)
	}),
	Validate:             check(validate.ValidateDaemonSet),
	ValidateUpdate:       checkUpdate(validate.ValidateDaemonSetUpdate),
	ValidateStatusUpdate: checkUpdate(validate.ValidateDaemonSetStatusUpdate),
}

// prepareDaemonSetUpdate carries the stored template generation over a
// write of the object, one more when the template (as defaulted) changed.
func prepareDaemonSetUpdate(subresource string, obj, old proto.Message) {
	if subresource != "" {
		return
	}
	ds, prev := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	gen := validate.TemplateGeneration(prev)
	next := proto.Clone(ds).(*appsv1.DaemonSet)
	defaults.DaemonSet(next)
	if !proto.Equal(next.GetSpec().GetTemplate(), templateOf(prev)) {
		gen++
	}
	setTemplateGeneration(ds, gen)
}

func templateOf(ds *appsv1.DaemonSet) *corev1.PodTemplateSpec {
	return ds.GetSpec().GetTemplate()
}

func setTemplateGeneration(ds *appsv1.DaemonSet, gen int64) {
	if ds.Metadata == nil {
		ds.Metadata = &metav1.ObjectMeta{}
	}
	if ds.Metadata.Annotations == nil {
		ds.Metadata.Annotations = map[string]string{}
	}
	ds.Metadata.Annotations[validate.DaemonSetTemplateGeneration] = strconv.FormatInt(gen, 10)
}

func keepAnnotation(m, old *metav1.ObjectMeta, key string) {
	v, ok := old.GetAnnotations()[key]
	if !ok {
		delete(m.Annotations, key)
		return
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = v
}
