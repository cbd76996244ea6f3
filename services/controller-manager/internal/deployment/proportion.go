package deployment

import (
	"context"
	"math"
	"sort"
	"strconv"

	appsv1 "skiff.dev/api/apps/v1"
)

// A Deployment whose replicas change while more than one of its
// ReplicaSets has pods (a rollout under way, paused, or held up by pods
// that do not become available) is scaled proportionally, as Kubernetes'
// deployment controller does: the change of its largest size
// (replicas+maxSurge) is spread over the active ReplicaSets in proportion
// to each one's share of the size it was last scaled for (the
// deployment.kubernetes.io/max-replicas annotation), so neither the old
// nor the new pods take the whole change.

// isScalingEvent reports whether an active ReplicaSet was scaled for
// other replicas than the Deployment now wants (its desired-replicas
// annotation).
func (r *rollout) isScalingEvent() bool {
	for _, rs := range r.all() {
		if rs.GetSpec().GetReplicas() == 0 {
			continue
		}
		desired, ok := annotationInt32(rs, DesiredReplicasAnnotation)
		if ok && desired != r.replicas() {
			return true
		}
	}
	return false
}

// annotationInt32 reads a non-negative count from an annotation.
func annotationInt32(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	s, ok := rs.GetMetadata().GetAnnotations()[key]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil || v < 0 {
		return 0, false
	}
	return int32(v), true
}

// scaleToReplicas brings the ReplicaSets to the Deployment's replicas
// without rolling out: the one active (or the newest) ReplicaSet takes
// them all; once the new ReplicaSet is saturated the old ones go to 0;
// otherwise a rolling Deployment's change is spread proportionally.
func (r *rollout) scaleToReplicas(ctx context.Context) error {
	active := activeSets(r.all())
	switch len(active) {
	case 0, 1:
		rs := r.newRS
		if len(active) == 1 {
			rs = active[0]
		} else if rs == nil && len(r.old) > 0 {
			rs = r.old[len(r.old)-1] // the newest
		}
		if rs == nil || rs.GetSpec().GetReplicas() == r.replicas() {
			return nil
		}
		return r.scaleAndKeep(ctx, rs, r.replicas())
	}
	if r.saturated() {
		for _, rs := range activeSets(r.old) {
			if err := r.scaleAndKeep(ctx, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if r.d.GetSpec().GetStrategy().GetType() == "Recreate" {
		return nil
	}
	surge, _ := r.surgeAndUnavailable()
	sizes := proportionalSizes(active, r.replicas(), surge, r.d.GetStatus().GetReplicas())
	for i, rs := range active {
		if err := r.scaleAndKeep(ctx, rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// saturated reports whether the new ReplicaSet runs all the replicas,
// scaled for them and all available.
func (r *rollout) saturated() bool {
	if r.newRS == nil {
		return false
	}
	desired, ok := annotationInt32(r.newRS, DesiredReplicasAnnotation)
	return ok && desired == r.replicas() && r.newRS.GetSpec().GetReplicas() == r.replicas() &&
		r.newRS.GetStatus().GetAvailableReplicas() == r.replicas()
}

// scaleAndKeep scales rs and puts the result where rs was.
func (r *rollout) scaleAndKeep(ctx context.Context, rs *appsv1.ReplicaSet, n int32) error {
	scaled, err := r.scale(ctx, rs, n)
	if err != nil {
		return err
	}
	if rs == r.newRS {
		r.newRS = scaled
		return nil
	}
	for i, old := range r.old {
		if old == rs {
			r.old[i] = scaled
		}
	}
	return nil
}

// activeSets are the ReplicaSets with replicas.
func activeSets(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs.GetSpec().GetReplicas() > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// proportionalSizes sorts the active ReplicaSets (in place) and returns
// their new sizes, in that order, for a rolling Deployment of replicas
// and surge whose status counts statusReplicas pods. The sets that grow
// are taken largest first, the newest of equals first; the sets that
// shrink largest first, the oldest of equals first. Each moves by its
// share, rounded, of the change, never more than what is left of it; what
// rounding leaves goes to the first, which never goes below 0.
func proportionalSizes(active []*appsv1.ReplicaSet, replicas, surge, statusReplicas int32) []int32 {
	allowed := int32(0)
	if replicas > 0 {
		allowed = replicas + surge
	}
	toAdd := allowed - specReplicas(active)
	switch {
	case toAdd > 0:
		sort.SliceStable(active, func(i, j int) bool { return bySize(active[i], active[j], true) })
	case toAdd < 0:
		sort.SliceStable(active, func(i, j int) bool { return bySize(active[i], active[j], false) })
	}
	sizes := make([]int32, len(active))
	added := int32(0)
	for i, rs := range active {
		sizes[i] = rs.GetSpec().GetReplicas()
		if toAdd != 0 {
			p := proportion(rs, replicas, allowed, statusReplicas, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if len(active) > 0 && toAdd != 0 {
		sizes[0] = max(0, sizes[0]+toAdd-added)
	}
	return sizes
}

// bySize orders larger sets first; equals newer first when newerFirst,
// else older first (creation time, then name).
func bySize(a, b *appsv1.ReplicaSet, newerFirst bool) bool {
	if na, nb := a.GetSpec().GetReplicas(), b.GetSpec().GetReplicas(); na != nb {
		return na > nb
	}
	if newerFirst {
		return olderThan(b, a)
	}
	return olderThan(a, b)
}

func olderThan(a, b *appsv1.ReplicaSet) bool {
	ta, tb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.GetMetadata().GetName() < b.GetMetadata().GetName()
}

// proportion is how many replicas rs gains (or loses, negative) of toAdd
// when added have already been handed out.
func proportion(rs *appsv1.ReplicaSet, replicas, allowed, statusReplicas, toAdd, added int32) int32 {
	n := rs.GetSpec().GetReplicas()
	if n == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	var share int32
	if replicas == 0 {
		share = -n
	} else {
		before, ok := annotationInt32(rs, MaxReplicasAnnotation)
		if !ok || before == 0 {
			before = statusReplicas // scaled by hand or by an old controller
		}
		if before == 0 {
			return 0
		}
		share = int32(math.Round(float64(n)*float64(allowed)/float64(before))) - n
	}
	left := toAdd - added
	if toAdd > 0 {
		return min(share, left)
	}
	return max(share, left)
}
