package deployment

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// Annotations Kubernetes' tools read.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// HashLabel tells a Deployment's ReplicaSets (and their pods) apart.
	HashLabel = "pod-template-hash"
)

// rollout is one reconcile of one Deployment.
type rollout struct {
	dc  *Controller
	d   *appsv1.Deployment
	now time.Time

	newRS *appsv1.ReplicaSet   // the ReplicaSet of the current template
	old   []*appsv1.ReplicaSet // the others, oldest first
	// What happened this round, for the Progressing condition.
	createdRS bool
}

func (r *rollout) replicas() int32 {
	if r.d.GetSpec().Replicas == nil {
		return 1
	}
	return r.d.GetSpec().GetReplicas()
}

func (r *rollout) all() []*appsv1.ReplicaSet {
	if r.newRS == nil {
		return r.old
	}
	return append(append([]*appsv1.ReplicaSet(nil), r.old...), r.newRS)
}

// split finds the ReplicaSet whose template is the Deployment's.
func (r *rollout) split(rss []*appsv1.ReplicaSet) {
	sort.Slice(rss, func(i, j int) bool {
		ti, tj := rss[i].GetMetadata().GetCreationTimestamp().AsTime(), rss[j].GetMetadata().GetCreationTimestamp().AsTime()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return rss[i].GetMetadata().GetName() < rss[j].GetMetadata().GetName()
	})
	for _, rs := range rss {
		if r.newRS == nil && sameTemplate(rs, r.d) {
			r.newRS = rs
			continue
		}
		r.old = append(r.old, rs)
	}
}

func revision(rs *appsv1.ReplicaSet) int64 {
	v, _ := strconv.ParseInt(rs.GetMetadata().GetAnnotations()[RevisionAnnotation], 10, 64)
	return v
}

func (r *rollout) maxOldRevision() int64 {
	var top int64
	for _, rs := range r.old {
		top = max(top, revision(rs))
	}
	return top
}

// annotationsFor are the Deployment's annotations a ReplicaSet carries
// (kubectl rollout history shows kubernetes.io/change-cause from them).
func annotationsFor(d *appsv1.Deployment) map[string]string {
	out := map[string]string{}
	for k, v := range d.GetMetadata().GetAnnotations() {
		if k == RevisionAnnotation || k == "kubectl.kubernetes.io/last-applied-configuration" ||
			strings.HasPrefix(k, "trace.skiff.dev/") || strings.HasPrefix(k, "deployment.kubernetes.io/") {
			continue
		}
		out[k] = v
	}
	return out
}

// ensureNewRS creates the ReplicaSet of the current template, or makes the
// existing one the newest revision (a rollback to an old template).
func (r *rollout) ensureNewRS(ctx context.Context) error {
	next := r.maxOldRevision() + 1
	if r.newRS != nil {
		if revision(r.newRS) >= next {
			return r.syncRevision(ctx, revision(r.newRS))
		}
		rs := proto.Clone(r.newRS).(*appsv1.ReplicaSet)
		ann := annotationsFor(r.d)
		for k, v := range rs.GetMetadata().GetAnnotations() {
			if strings.HasPrefix(k, "deployment.kubernetes.io/") {
				ann[k] = v
			}
		}
		ann[RevisionAnnotation] = strconv.FormatInt(next, 10)
		rs.Metadata.Annotations = ann
		updated, err := r.dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Update(ctx, rs, client.WriteOptions{})
		if err != nil {
			return fmt.Errorf("set the revision of replicaset %s: %w", informer.KeyOf(rs), err)
		}
		r.newRS = updated
		return r.syncRevision(ctx, next)
	}
	rs := newReplicaSet(r.d, next)
	created, err := r.dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Create(ctx, rs, client.WriteOptions{})
	if client.IsAlreadyExists(err) {
		existing, gerr := r.dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Get(ctx, rs.GetMetadata().GetName())
		if gerr == nil && sameTemplate(existing, r.d) && isControlledBy(existing, r.d) {
			return fmt.Errorf("replicaset %s exists but is not in the cache yet: %w", informer.KeyOf(rs), errRetry)
		}
		// A hash collision: the next attempt hashes with a new count.
		st := proto.Clone(r.d.GetStatus()).(*appsv1.DeploymentStatus)
		if st == nil {
			st = &appsv1.DeploymentStatus{}
		}
		n := st.GetCollisionCount() + 1
		st.CollisionCount = &n
		d := proto.Clone(r.d).(*appsv1.Deployment)
		d.Status = st
		if _, err := r.dc.c.AppsV1().Deployments(d.GetMetadata().GetNamespace()).UpdateStatus(ctx, d, client.WriteOptions{}); err != nil {
			return fmt.Errorf("record a hash collision of deployment %s: %w", informer.KeyOf(d), err)
		}
		return fmt.Errorf("replicaset name %s is taken: %w", rs.GetMetadata().GetName(), errRetry)
	}
	if err != nil {
		return fmt.Errorf("create replicaset for deployment %s: %w", informer.KeyOf(r.d), err)
	}
	r.newRS, r.createdRS = created, true
	return r.syncRevision(ctx, next)
}

func isControlledBy(rs *appsv1.ReplicaSet, d *appsv1.Deployment) bool {
	for _, ref := range rs.GetMetadata().GetOwnerReferences() {
		if ref.GetController() && ref.GetUid() == d.GetMetadata().GetUid() {
			return true
		}
	}
	return false
}

// syncRevision writes the current revision onto the Deployment.
func (r *rollout) syncRevision(ctx context.Context, rev int64) error {
	want := strconv.FormatInt(rev, 10)
	if r.d.GetMetadata().GetAnnotations()[RevisionAnnotation] == want {
		return nil
	}
	d := proto.Clone(r.d).(*appsv1.Deployment)
	if d.Metadata.Annotations == nil {
		d.Metadata.Annotations = map[string]string{}
	}
	d.Metadata.Annotations[RevisionAnnotation] = want
	updated, err := r.dc.c.AppsV1().Deployments(d.GetMetadata().GetNamespace()).Update(ctx, d, client.WriteOptions{})
	if err != nil {
		return fmt.Errorf("set the revision of deployment %s: %w", informer.KeyOf(d), err)
	}
	r.d = updated
	return nil
}

// resolve turns an int-or-percent of replicas into a count.
func resolve(v *metav1.IntOrString, replicas int32, roundUp bool) int32 {
	if v == nil {
		return 0
	}
	if v.GetType() == 0 {
		return v.GetIntVal()
	}
	pct, err := strconv.Atoi(strings.TrimSuffix(v.GetStrVal(), "%"))
	if err != nil {
		return 0
	}
	f := float64(pct) * float64(replicas) / 100
	if roundUp {
		return int32(math.Ceil(f))
	}
	return int32(math.Floor(f))
}

// surgeAndUnavailable are maxSurge and maxUnavailable as counts; they are
// never both 0.
func (r *rollout) surgeAndUnavailable() (int32, int32) {
	if r.d.GetSpec().GetStrategy().GetType() == "Recreate" {
		return 0, r.replicas()
	}
	ru := r.d.GetSpec().GetStrategy().GetRollingUpdate()
	surge := resolve(ru.GetMaxSurge(), r.replicas(), true)
	unavailable := resolve(ru.GetMaxUnavailable(), r.replicas(), false)
	if ru == nil {
		surge, unavailable = resolve(&metav1.IntOrString{Type: 1, StrVal: "25%"}, r.replicas(), true),
			resolve(&metav1.IntOrString{Type: 1, StrVal: "25%"}, r.replicas(), false)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// scale sets a ReplicaSet's replicas and the annotations that say what
// the Deployment wanted.
func (r *rollout) scale(ctx context.Context, rs *appsv1.ReplicaSet, n int32) (*appsv1.ReplicaSet, error) {
	surge, _ := r.surgeAndUnavailable()
	desired, maxReplicas := strconv.Itoa(int(r.replicas())), strconv.Itoa(int(r.replicas()+surge))
	ann := rs.GetMetadata().GetAnnotations()
	if rs.GetSpec().GetReplicas() == n && ann[DesiredReplicasAnnotation] == desired && ann[MaxReplicasAnnotation] == maxReplicas {
		return rs, nil
	}
	updated := proto.Clone(rs).(*appsv1.ReplicaSet)
	updated.Spec.Replicas = &n
	if updated.Metadata.Annotations == nil {
		updated.Metadata.Annotations = map[string]string{}
	}
	updated.Metadata.Annotations[DesiredReplicasAnnotation] = desired
	updated.Metadata.Annotations[MaxReplicasAnnotation] = maxReplicas
	out, err := r.dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Update(ctx, updated, client.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("scale replicaset %s to %d: %w", informer.KeyOf(rs), n, err)
	}
	if was := rs.GetSpec().GetReplicas(); was != n {
		r.dc.Events.Eventf(r.d, events.Normal, "ScalingReplicaSet", "%s", scalingMessage(rs.GetMetadata().GetName(), was, n))
	}
	return out, nil
}

// scalingMessage says how a ReplicaSet was scaled, as Kubernetes words it.
func scalingMessage(rs string, from, to int32) string {
	dir := "up"
	if to < from {
		dir = "down"
	}
	if from == 0 {
		return fmt.Sprintf("Scaled %s replica set %s to %d", dir, rs, to)
	}
	return fmt.Sprintf("Scaled %s replica set %s to %d from %d", dir, rs, to, from)
}

func specReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rs.GetSpec().GetReplicas()
	}
	return n
}

// availableReplicas counts the available pods that will stay: a
// ReplicaSet just scaled down still reports the pods it is about to
// delete, and counting those would scale down twice on a stale status.
func availableReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += min(rs.GetStatus().GetAvailableReplicas(), rs.GetSpec().GetReplicas())
	}
	return n
}

// rollOut moves replicas from the old ReplicaSets to the new one as the
// strategy allows.
func (r *rollout) rollOut(ctx context.Context) error {
	if r.d.GetSpec().GetStrategy().GetType() == "Recreate" {
		return r.recreate(ctx)
	}
	if err := r.scaleNew(ctx); err != nil {
		return err
	}
	return r.scaleDownOld(ctx)
}

// recreate stops every old pod before starting new ones.
func (r *rollout) recreate(ctx context.Context) error {
	for i, rs := range r.old {
		if rs.GetSpec().GetReplicas() == 0 {
			continue
		}
		scaled, err := r.scale(ctx, rs, 0)
		if err != nil {
			return err
		}
		r.old[i] = scaled
	}
	for _, rs := range r.old {
		if rs.GetStatus().GetReplicas() > 0 || r.hasPods(rs) {
			return nil // a pod deletion brings us back
		}
	}
	scaled, err := r.scale(ctx, r.newRS, r.replicas())
	if err != nil {
		return err
	}
	r.newRS = scaled
	return nil
}

// hasPods reports whether pods a ReplicaSet controls still exist.
func (r *rollout) hasPods(rs *appsv1.ReplicaSet) bool {
	return len(r.dc.pods.Store().ByIndex(informer.IndexOwner, rs.GetMetadata().GetUid())) > 0
}

// scaleNew grows the new ReplicaSet within maxSurge, or shrinks it to the
// replicas.
func (r *rollout) scaleNew(ctx context.Context) error {
	want := r.replicas()
	cur := r.newRS.GetSpec().GetReplicas()
	target := cur
	switch {
	case cur > want:
		target = want
	case cur < want:
		surge, _ := r.surgeAndUnavailable()
		allowed := want + surge - specReplicas(r.all())
		target = cur + max(0, min(allowed, want-cur))
	}
	scaled, err := r.scale(ctx, r.newRS, target)
	if err != nil {
		return err
	}
	r.newRS = scaled
	return nil
}

// scaleDownOld removes old replicas while at least replicas-maxUnavailable
// stay available: unavailable old pods go first, then the oldest sets.
func (r *rollout) scaleDownOld(ctx context.Context) error {
	if specReplicas(r.old) == 0 {
		return nil
	}
	_, unavailable := r.surgeAndUnavailable()
	minAvailable := r.replicas() - unavailable
	newUnavailable := r.newRS.GetSpec().GetReplicas() - r.newRS.GetStatus().GetAvailableReplicas()
	budget := specReplicas(r.all()) - minAvailable - newUnavailable
	if budget <= 0 {
		return nil
	}
	// Old pods that are not available cost nothing to remove.
	for i, rs := range r.old {
		if budget <= 0 {
			break
		}
		broken := rs.GetSpec().GetReplicas() - rs.GetStatus().GetAvailableReplicas()
		if broken <= 0 {
			continue
		}
		cut := min(broken, budget)
		scaled, err := r.scale(ctx, rs, rs.GetSpec().GetReplicas()-cut)
		if err != nil {
			return err
		}
		r.old[i] = scaled
		budget -= cut
	}
	// Then available ones, oldest set first, while enough stay available.
	budget = availableReplicas(r.all()) - minAvailable
	for i, rs := range r.old {
		if budget <= 0 {
			break
		}
		n := rs.GetSpec().GetReplicas()
		if n == 0 {
			continue
		}
		cut := min(n, budget)
		scaled, err := r.scale(ctx, rs, n-cut)
		if err != nil {
			return err
		}
		r.old[i] = scaled
		budget -= cut
	}
	return nil
}

// cleanup deletes the oldest empty ReplicaSets beyond revisionHistoryLimit.
func (r *rollout) cleanup(ctx context.Context) error {
	limit := int32(10)
	if r.d.GetSpec().RevisionHistoryLimit != nil {
		limit = r.d.GetSpec().GetRevisionHistoryLimit()
	}
	var empty []*appsv1.ReplicaSet
	for _, rs := range r.old {
		if rs.GetSpec().GetReplicas() == 0 && rs.GetStatus().GetReplicas() == 0 && rs.GetMetadata().GetDeletionTimestamp() == nil {
			empty = append(empty, rs)
		}
	}
	sort.SliceStable(empty, func(i, j int) bool { return revision(empty[i]) < revision(empty[j]) })
	for i := 0; i < len(empty)-int(limit); i++ {
		rs := empty[i]
		if _, err := r.dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Delete(ctx, rs.GetMetadata().GetName(), nil); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", informer.KeyOf(rs), err)
		}
	}
	return nil
}
