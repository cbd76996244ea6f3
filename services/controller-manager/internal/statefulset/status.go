package statefulset

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// completeRollingUpdate makes the update revision current once every
// replica runs it and is ready.
func completeRollingUpdate(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	want := set.GetSpec().GetReplicas()
	if set.GetSpec().GetUpdateStrategy().GetType() == "RollingUpdate" &&
		st.GetUpdatedReplicas() == want && st.GetReadyReplicas() == want && st.GetReplicas() == want {
		st.CurrentReplicas = st.GetUpdatedReplicas()
		st.CurrentRevision = st.GetUpdateRevision()
	}
}

// writeStatus updates the status when it changed.
func (sc *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) error {
	completeRollingUpdate(set, st)
	if proto.Equal(set.GetStatus(), st) {
		return nil
	}
	updated := proto.Clone(set).(*appsv1.StatefulSet)
	updated.Status = st
	_, err := client.For[*appsv1.StatefulSet, *appsv1.StatefulSetList](sc.c, set.GetMetadata().GetNamespace()).UpdateStatus(ctx, updated, client.WriteOptions{})
	switch {
	case client.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("update status of statefulset %s: %w", informer.KeyOf(set), err)
	}
	return nil
}
