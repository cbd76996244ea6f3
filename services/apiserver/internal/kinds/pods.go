package kinds

import (
	"context"
	"fmt"
	"maps"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/eviction"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
)

// PodStore is the pods backend: the generic store plus pods/binding and
// pods/eviction.
type PodStore struct {
	*registry.Store
	// Evictions evicts pods within their PodDisruptionBudgets.
	Evictions *eviction.Evictor
}

var _ registry.Binder = PodStore{}

// Bind assigns a pod to a node (what the scheduler does): spec.nodeName is
// set once, and the PodScheduled condition turns True.
func (p PodStore) Bind(ctx context.Context, b *corev1.Binding) error {
	target := b.GetTarget()
	pods := p.Resource().ErrorResource()
	name := b.GetMetadata().GetName()
	if target.GetName() == "" || (target.GetKind() != "" && target.GetKind() != "Node") {
		errs := field.ErrorList{field.Required(field.NewPath("target", "name"), "a binding must name a Node")}
		return apierrors.NewInvalid(apierrors.Resource{Resource: "bindings", Kind: "Binding"}, name, errs)
	}
	_, err := p.Mutate(ctx, b.GetMetadata().GetNamespace(), name, func(cur proto.Message) (proto.Message, error) {
		pod := cur.(*corev1.Pod)
		if pod.GetMetadata().GetDeletionTimestamp() != nil {
			return nil, apierrors.NewConflict(pods, name, fmt.Sprintf("pod %s is being deleted, cannot be assigned to a host", name))
		}
		if n := pod.GetSpec().GetNodeName(); n != "" {
			return nil, apierrors.NewConflict(pods, name, fmt.Sprintf("pod %s is already assigned to node %q", name, n))
		}
		pod.Spec.NodeName = proto.String(target.GetName())
		if ann := b.GetMetadata().GetAnnotations(); len(ann) > 0 {
			if pod.Metadata.Annotations == nil {
				pod.Metadata.Annotations = map[string]string{}
			}
			maps.Copy(pod.Metadata.Annotations, ann)
		}
		setPodCondition(pod, &corev1.PodCondition{Type: "PodScheduled", Status: "True",
			LastTransitionTime: timestamppb.Now()})
		return pod, nil
	})
	return err
}

func setPodCondition(pod *corev1.Pod, c *corev1.PodCondition) {
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	for i, old := range pod.Status.Conditions {
		if old.GetType() == c.GetType() {
			if old.GetStatus() == c.GetStatus() {
				c.LastTransitionTime = old.GetLastTransitionTime()
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}
