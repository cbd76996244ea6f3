// Package namespaces holds the namespace lifecycle the apiserver enforces:
// writes into a missing or terminating namespace are refused and the
// system namespaces exist from the start. A deleted namespace stays
// Terminating, held by its kubernetes finalizer, until the
// controller-manager's namespace controller has emptied and finalized it.
package namespaces

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// FinalizerKubernetes is the spec finalizer that holds a namespace until
// its content is gone.
const FinalizerKubernetes = "kubernetes"

// CauseNamespaceTerminating is the cause (details.causes[].reason) of the
// Forbidden that refuses a create in a terminating namespace.
const CauseNamespaceTerminating = "NamespaceTerminating"

// System are the namespaces that exist from the start.
var System = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// Check returns the registry's namespace check over the namespaces backend.
func Check(nsBackend registry.Backend) registry.NamespaceCheck {
	return func(ctx context.Context, namespace string) error {
		obj, err := nsBackend.Get(ctx, "", namespace, registry.GetOptions{})
		if err != nil {
			return err
		}
		ns := obj.(*corev1.Namespace)
		if ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating" {
			err := apierrors.NewForbidden(apierrors.Resource{Resource: "namespaces"}, namespace,
				fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", namespace))
			// Clients tell this refusal from others by the cause, as
			// Kubernetes' NamespaceLifecycle admission marks it.
			err.Status.Details.Causes = append(err.Status.Details.Causes, &metav1.StatusCause{
				Reason: CauseNamespaceTerminating, Message: fmt.Sprintf("namespace %s is being terminated", namespace),
				Field: "metadata.namespace"})
			return err
		}
		return nil
	}
}

// EnsureSystem creates the system namespaces that do not exist yet.
func EnsureSystem(ctx context.Context, nsBackend registry.Backend) error {
	for _, name := range System {
		_, err := nsBackend.Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name}}, registry.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}

// Strategy hooks of the Namespace kind.

// PendingFinalizers are the namespace's spec.finalizers.
func PendingFinalizers(obj proto.Message) []string {
	return obj.(*corev1.Namespace).GetSpec().GetFinalizers()
}

// PrepareForDelete marks a namespace Terminating.
func PrepareForDelete(obj proto.Message) {
	ns := obj.(*corev1.Namespace)
	if ns.Status == nil {
		ns.Status = &corev1.NamespaceStatus{}
	}
	ns.Status.Phase = "Terminating"
}
