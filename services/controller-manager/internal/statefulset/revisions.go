package statefulset

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/controller-manager/internal/history"
)

// revisionLabel is the pod label that names the revision a pod was made
// from; for StatefulSets Kubernetes puts the revision's name in it.
const revisionLabel = history.HashLabel

func podRevision(pod *corev1.Pod) string { return pod.GetMetadata().GetLabels()[revisionLabel] }

// newRevision is the revision the set's current template makes: its
// data is the template patch, its labels the template's, its annotations
// the set's.
func newRevision(set *appsv1.StatefulSet, number int64, collisions *int32) (*appsv1.ControllerRevision, error) {
	data, err := history.TemplatePatch(set.GetSpec().GetTemplate())
	if err != nil {
		return nil, fmt.Errorf("statefulset %s/%s: revision data: %w", set.GetMetadata().GetNamespace(), set.GetMetadata().GetName(), err)
	}
	rev := history.New(set.GetMetadata(), OwnerReference(set), set.GetSpec().GetTemplate().GetMetadata().GetLabels(), data, number, collisions)
	if a := set.GetMetadata().GetAnnotations(); len(a) > 0 {
		rev.Metadata.Annotations = map[string]string{}
		for k, v := range a {
			rev.Metadata.Annotations[k] = v
		}
	}
	return rev, nil
}

// applyRevision is the set with the template the revision recorded.
func applyRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	tmpl, err := history.Template(rev)
	if err != nil {
		return nil, fmt.Errorf("controllerrevision %s: %w", rev.GetMetadata().GetName(), err)
	}
	out := proto.Clone(set).(*appsv1.StatefulSet)
	out.Spec.Template = tmpl
	return out, nil
}

// revisions returns the current and update revisions and the collision
// count, making the update revision when the template is new, or
// renumbering an old one the template went back to, as Kubernetes does.
// revs are the set's revisions, oldest first.
func (sc *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, collisions int32, err error) {
	collisions = set.GetStatus().GetCollisionCount()
	update, err = newRevision(set, history.Next(revs), &collisions)
	if err != nil {
		return nil, nil, collisions, err
	}
	equal := history.FindEqual(revs, update)
	switch {
	case len(equal) > 0 && history.Equal(revs[len(revs)-1], equal[len(equal)-1]):
		update = revs[len(revs)-1] // the newest revision is the template
	case len(equal) > 0:
		update, err = sc.hist.Renumber(ctx, equal[len(equal)-1], update.GetRevision())
	default:
		update, err = sc.hist.Create(ctx, update, &collisions)
	}
	if err != nil {
		return nil, nil, collisions, err
	}
	for _, r := range revs {
		if r.GetMetadata().GetName() == set.GetStatus().GetCurrentRevision() {
			current = r
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisions, nil
}

// truncateHistory deletes the oldest revisions beyond
// revisionHistoryLimit that neither the status nor a pod uses.
func (sc *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update *appsv1.ControllerRevision) error {
	live := map[string]bool{current.GetMetadata().GetName(): true, update.GetMetadata().GetName(): true}
	for _, p := range pods {
		live[podRevision(p)] = true
	}
	return sc.hist.Truncate(ctx, revs, set.GetSpec().GetRevisionHistoryLimit(), func(r *appsv1.ControllerRevision) bool {
		return live[r.GetMetadata().GetName()]
	})
}
