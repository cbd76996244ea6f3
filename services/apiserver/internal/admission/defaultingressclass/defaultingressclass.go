// Package defaultingressclass is Kubernetes' DefaultIngressClass admission
// plugin: a new Ingress that names no class (neither
// spec.ingressClassName nor the older kubernetes.io/ingress.class
// annotation) gets the class annotated
// ingressclass.kubernetes.io/is-default-class=true; of several such
// classes, the newest (then the first by name), as Kubernetes 1.34 picks.
package defaultingressclass

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "DefaultIngressClass"

const (
	// DefaultAnnotation marks the default IngressClass.
	DefaultAnnotation = "ingressclass.kubernetes.io/is-default-class"
	classAnnotation   = "kubernetes.io/ingress.class"
)

var ingresses = apierrors.Resource{Group: "networking.k8s.io", Resource: "ingresses"}

// Plugin returns the plugin over the IngressClasses' backend. It lists the
// classes on each Ingress create rather than keeping a copy: Ingresses
// are created seldom, classes are few, and a class created a moment
// before the Ingress is then always seen.
func Plugin(classes registry.Backend) admission.Plugin {
	return admission.Plugin{Name: Name, Mutate: func(ctx context.Context, w *registry.Write) error {
		ing, ok := w.Object.(*networkingv1.Ingress)
		if !ok || w.Operation != registry.OpCreate || w.Subresource != "" || !namesNoClass(ing) {
			return nil
		}
		list, err := classes.List(ctx, "", registry.ListOptions{})
		if err != nil {
			return apierrors.NewForbidden(ingresses, w.Name, fmt.Sprintf("list IngressClasses: %v", err))
		}
		if def := DefaultClass(list.(*networkingv1.IngressClassList).GetItems()); def != nil {
			if ing.Spec == nil {
				ing.Spec = &networkingv1.IngressSpec{}
			}
			ing.Spec.IngressClassName = proto.String(def.GetMetadata().GetName())
		}
		return nil
	}}
}

func namesNoClass(ing *networkingv1.Ingress) bool {
	_, annotated := ing.GetMetadata().GetAnnotations()[classAnnotation]
	return (ing.GetSpec() == nil || ing.GetSpec().IngressClassName == nil) && !annotated
}

// DefaultClass is the newest class marked default, the first by name of
// those created in the same second; nil when none is marked.
func DefaultClass(classes []*networkingv1.IngressClass) *networkingv1.IngressClass {
	var marked []*networkingv1.IngressClass
	for _, c := range classes {
		if c.GetMetadata().GetAnnotations()[DefaultAnnotation] == "true" {
			marked = append(marked, c)
		}
	}
	if len(marked) == 0 {
		return nil
	}
	return slices.MinFunc(marked, func(a, b *networkingv1.IngressClass) int {
		// Kubernetes' timestamps are whole seconds.
		ta, tb := a.GetMetadata().GetCreationTimestamp().GetSeconds(), b.GetMetadata().GetCreationTimestamp().GetSeconds()
		if c := cmp.Compare(tb, ta); c != 0 {
			return c
		}
		return cmp.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
	})
}
