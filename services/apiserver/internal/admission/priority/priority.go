// Package priority is Kubernetes' Priority admission plugin. A new pod's
// spec.priorityClassName is resolved to spec.priority and
// spec.preemptionPolicy: the named PriorityClass's value and policy, or,
// for a pod that names none, those of the global default class (and its
// name), or 0 and PreemptLowerPriority when no class is the default. A pod
// naming a class that does not exist, or setting a priority or policy
// that disagrees with its class, is refused (403 Forbidden). An update
// keeps the priority and policy the pod was created with. A PriorityClass
// may be the global default only while no other class is.
package priority

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/priorityclasses"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "Priority"

var (
	pods    = apierrors.Resource{Resource: "pods"}
	classes = apierrors.Resource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
)

// Plugin reads PriorityClasses from an in-memory copy that follows their
// store, as Kubernetes' plugin reads its informer; a class the copy does
// not hold yet (created a moment ago) is read from the store.
type Plugin struct {
	classes registry.Backend
	cache   *follow.Namespaced[*schedulingv1.PriorityClass]
}

// New returns the plugin over the PriorityClasses' backend.
func New(classes registry.Backend) *Plugin {
	return &Plugin{classes: classes, cache: follow.NewNamespaced[*schedulingv1.PriorityClass]()}
}

// Plugin is the plugin for the admission chain.
func (p *Plugin) Plugin() admission.Plugin {
	return admission.Plugin{Name: Name, Mutate: p.mutate, Validate: p.validate,
		Start: func(ctx context.Context) (<-chan struct{}, error) { return p.cache.Start(ctx, p.classes) }}
}

func (p *Plugin) mutate(ctx context.Context, w *registry.Write) error {
	pod, ok := w.Object.(*corev1.Pod)
	if !ok || w.Subresource != "" {
		return nil
	}
	switch w.Operation {
	case registry.OpCreate:
		return p.admitNew(ctx, pod, w.Name)
	case registry.OpUpdate:
		// Validation refuses a changed priority; one left out is kept.
		if old, ok := w.Old.(*corev1.Pod); ok && pod.Spec != nil {
			if pod.Spec.Priority == nil && old.GetSpec().Priority != nil {
				pod.Spec.Priority = proto.Int32(old.GetSpec().GetPriority())
			}
			if pod.Spec.PreemptionPolicy == nil && old.GetSpec().PreemptionPolicy != nil {
				pod.Spec.PreemptionPolicy = proto.String(old.GetSpec().GetPreemptionPolicy())
			}
		}
	}
	return nil
}

// admitNew resolves a new pod's priority.
func (p *Plugin) admitNew(ctx context.Context, pod *corev1.Pod, name string) error {
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	priority, policy := priorityclasses.DefaultPriority, proto.String(priorityclasses.PreemptLowerPriority)
	if className := pod.Spec.GetPriorityClassName(); className == "" {
		if dpc := p.defaultClass(); dpc != nil {
			pod.Spec.PriorityClassName = proto.String(dpc.GetMetadata().GetName())
			priority, policy = dpc.GetValue(), dpc.PreemptionPolicy
		}
	} else {
		pc, err := p.class(ctx, className)
		if apierrors.IsNotFound(err) {
			return apierrors.NewForbidden(pods, name, fmt.Sprintf("no PriorityClass with name %s was found", className))
		}
		if err != nil {
			return fmt.Errorf("failed to get PriorityClass with name %s: %w", className, err)
		}
		priority, policy = pc.GetValue(), pc.PreemptionPolicy
	}
	if pod.Spec.Priority != nil && pod.Spec.GetPriority() != priority {
		return apierrors.NewForbidden(pods, name, fmt.Sprintf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", pod.Spec.GetPriority(), priority))
	}
	pod.Spec.Priority = proto.Int32(priority)
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && pod.Spec.GetPreemptionPolicy() != *policy {
			return apierrors.NewForbidden(pods, name, fmt.Sprintf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", pod.Spec.GetPreemptionPolicy(), *policy))
		}
		pod.Spec.PreemptionPolicy = proto.String(*policy)
	}
	return nil
}

// class returns the named class from the copy, or from the store when
// the copy lacks it.
func (p *Plugin) class(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
	for _, pc := range p.cache.List("") {
		if pc.GetMetadata().GetName() == name {
			return pc, nil
		}
	}
	obj, err := p.classes.Get(ctx, "", name, registry.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*schedulingv1.PriorityClass), nil
}

// defaultClass is the global default class; of several (two writes that
// raced), the one of lowest value, as Kubernetes picks.
func (p *Plugin) defaultClass() *schedulingv1.PriorityClass {
	var out *schedulingv1.PriorityClass
	for _, pc := range p.cache.List("") {
		if pc.GetGlobalDefault() && (out == nil || pc.GetValue() < out.GetValue()) {
			out = pc
		}
	}
	return out
}

// validate refuses a second global default class.
func (p *Plugin) validate(_ context.Context, w *registry.Write) error {
	pc, ok := w.Object.(*schedulingv1.PriorityClass)
	if !ok || w.Subresource != "" || !pc.GetGlobalDefault() {
		return nil
	}
	if w.Operation != registry.OpCreate && w.Operation != registry.OpUpdate {
		return nil
	}
	dpc := p.defaultClass()
	if dpc == nil || (w.Operation == registry.OpUpdate && dpc.GetMetadata().GetName() == pc.GetMetadata().GetName()) {
		return nil
	}
	return apierrors.NewForbidden(classes, w.Name, fmt.Sprintf("PriorityClass %s is already marked as default. Only one default can exist", dpc.GetMetadata().GetName()))
}
