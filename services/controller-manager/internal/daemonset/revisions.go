package daemonset

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/controller-manager/internal/history"
)

// currentHash is the revision hash of the DaemonSet's template as it
// stands, without writing anything.
func currentHash(ds *appsv1.DaemonSet) string {
	data, err := history.TemplatePatch(ds.GetSpec().GetTemplate())
	if err != nil {
		return ""
	}
	return history.Hash(data, collisionCount(ds))
}

// collisionCount is the DaemonSet's status.collisionCount (nil if unset).
func collisionCount(ds *appsv1.DaemonSet) *int32 {
	if ds.GetStatus() == nil {
		return nil
	}
	return ds.GetStatus().CollisionCount
}

// constructHistory makes sure the DaemonSet's template has a revision,
// numbered after all the others (a rollback renumbers the old one), and
// returns it with the other revisions, oldest first, and the collision
// count to report (raised by a hash collision).
func (dc *Controller) constructHistory(ctx context.Context, ds *appsv1.DaemonSet) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, *int32, error) {
	collisions := proto.Int32(ds.GetStatus().GetCollisionCount())
	report := func() *int32 {
		if collisionCount(ds) == nil && *collisions == 0 {
			return nil // never collided: the status keeps no count
		}
		return collisions
	}
	revs, err := dc.history.Claim(ctx, ds.GetMetadata(), OwnerReference(ds), ds.GetSpec().GetSelector())
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := history.TemplatePatch(ds.GetSpec().GetTemplate())
	if err != nil {
		return nil, nil, nil, err
	}
	var current, old []*appsv1.ControllerRevision
	for _, r := range revs {
		if bytes.Equal(r.GetData().GetRaw(), data) {
			current = append(current, r)
		} else {
			old = append(old, r)
		}
	}
	next := history.Next(old)
	if len(current) == 0 {
		rev := history.New(ds.GetMetadata(), OwnerReference(ds), ds.GetSpec().GetTemplate().GetMetadata().GetLabels(), data, next, collisions)
		cur, err := dc.history.Create(ctx, rev, collisions)
		if err != nil {
			return nil, nil, nil, err
		}
		return cur, old, report(), nil
	}
	// Duplicates of the current state (left by a conflict): keep the
	// newest, delete the others.
	cur := current[len(current)-1]
	for _, dup := range current[:len(current)-1] {
		if err := dc.history.Delete(ctx, dup); err != nil {
			return nil, nil, nil, err
		}
	}
	if cur.GetRevision() < next {
		if cur, err = dc.history.Renumber(ctx, cur, next); err != nil {
			return nil, nil, nil, err
		}
	}
	return cur, old, report(), nil
}

// cleanupHistory deletes the oldest old revisions beyond
// revisionHistoryLimit that no pod runs any more.
func (dc *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, byNode map[string][]*corev1.Pod) error {
	limit := ds.GetSpec().GetRevisionHistoryLimit()
	if len(old) <= int(limit) {
		return nil
	}
	var live []string
	for _, pods := range byNode {
		for _, p := range pods {
			if h := p.GetMetadata().GetLabels()[RevisionHashLabel]; h != "" {
				live = append(live, h)
			}
		}
	}
	err := dc.history.Truncate(ctx, old, limit, func(r *appsv1.ControllerRevision) bool {
		return slices.Contains(live, r.GetMetadata().GetLabels()[history.HashLabel])
	})
	if err != nil {
		return fmt.Errorf("truncate history: %w", err)
	}
	return nil
}
