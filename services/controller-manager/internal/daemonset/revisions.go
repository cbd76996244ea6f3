package daemonset

import (
	"context"
	"fmt"
	"hash/fnv"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/kjson"
)

// TEMPORARY until the history package lands.
type revision struct{ hash string }

func (r *revision) GetMetadata() interface{ GetLabels() map[string]string } { return r }
func (r *revision) GetLabels() map[string]string                            { return map[string]string{RevisionHashLabel: r.hash} }

func (dc *Controller) currentHash(ds *appsv1.DaemonSet) string {
	b, _ := kjson.Marshal(ds.GetSpec().GetTemplate())
	h := fnv.New32a()
	h.Write(b)
	return fmt.Sprint(h.Sum32())
}

func (dc *Controller) constructHistory(_ context.Context, ds *appsv1.DaemonSet) (*revision, []*revision, error) {
	return &revision{hash: dc.currentHash(ds)}, nil, nil
}

func (dc *Controller) cleanupHistory(context.Context, *appsv1.DaemonSet, []*revision, map[string][]*corev1.Pod) error {
	return nil
}
