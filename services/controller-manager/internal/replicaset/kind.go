package replicaset

import (
	"context"
	"fmt"

	appsv1 "skiff.dev/api/apps/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Kind is what the controller knows of the kind whose pods it keeps, so
// that one reconcile serves apps/v1 ReplicaSets and core/v1
// ReplicationControllers, as Kubernetes runs its ReplicaSet controller
// over converted ReplicationControllers.
type Kind[T events.Object] struct {
	// Name is the controller's name ("replicaset"), also the noun of its
	// traces and errors.
	Name string
	// APIVersion and Kind name the owner in the references put on pods.
	APIVersion, Kind string
	// Objects is the shared informer of the kind.
	Objects *informer.Informer[T]
	// View is the object as a ReplicaSet, whose metadata, spec and status
	// the reconcile reads and never changes: a ReplicaSet is its own view.
	View func(T) *appsv1.ReplicaSet
	// UpdateStatus writes st as the object's status.
	UpdateStatus func(ctx context.Context, obj T, st *appsv1.ReplicaSetStatus) (T, error)
}

// ReplicaSets is the apps/v1 ReplicaSet kind.
func ReplicaSets(c *client.Client, f *informers.Factory) Kind[*appsv1.ReplicaSet] {
	return Kind[*appsv1.ReplicaSet]{
		Name: Name, APIVersion: "apps/v1", Kind: "ReplicaSet", Objects: f.ReplicaSets(),
		View: func(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet { return rs },
		UpdateStatus: func(ctx context.Context, rs *appsv1.ReplicaSet, st *appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
			updated := &appsv1.ReplicaSet{Kind: rs.GetKind(), ApiVersion: rs.GetApiVersion(), Metadata: rs.GetMetadata(), Spec: rs.GetSpec(), Status: st}
			return c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).UpdateStatus(ctx, updated, client.WriteOptions{})
		},
	}
}

// check reports a Kind missing a part.
func (k Kind[T]) check() error {
	if k.Name == "" || k.APIVersion == "" || k.Kind == "" || k.Objects == nil || k.View == nil || k.UpdateStatus == nil {
		return fmt.Errorf("replicaset: kind %q is incomplete", k.Kind)
	}
	return nil
}
