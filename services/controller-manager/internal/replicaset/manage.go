package replicaset

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
)

// manage creates or deletes pods so the active ones match the replicas.
func (rc *Controller[T]) manage(ctx context.Context, key string, obj T, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	want := int(rs.GetSpec().GetReplicas())
	switch diff := len(active) - want; {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		rc.exp.ExpectCreates(key, n)
		created, err := controller.SlowStart(n, func(int) error { return rc.createPod(ctx, obj, rs) })
		for i := created; i < n; i++ {
			rc.exp.CreationObserved(key) // never coming
		}
		return err
	case diff > 0:
		victims := PodsToDelete(active, min(diff, BurstReplicas))
		rc.exp.ExpectDeletes(key, controller.PodKeys(victims))
		pc := controller.PodControl{Client: rc.c, Events: rc.Events, Expectations: rc.exp, Key: key}
		return pc.DeletePods(ctx, obj, victims)
	}
	return nil
}

// NewPod is the pod a ReplicaSet's template describes.
func NewPod(rs *appsv1.ReplicaSet) *corev1.Pod { return newPod(rs, OwnerReference(rs)) }

// newPod is the pod the template of a ReplicaSet view describes,
// controlled by ref.
func newPod(rs *appsv1.ReplicaSet, ref *metav1.OwnerReference) *corev1.Pod {
	tmpl := rs.GetSpec().GetTemplate()
	meta := proto.Clone(tmpl.GetMetadata()).(*metav1.ObjectMeta)
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	meta.Name = ""
	meta.GenerateName = rs.GetMetadata().GetName() + "-"
	meta.Namespace = rs.GetMetadata().GetNamespace()
	meta.OwnerReferences = []*metav1.OwnerReference{ref}
	spec, _ := proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)
	return &corev1.Pod{Metadata: meta, Spec: spec}
}

func (rc *Controller[T]) createPod(ctx context.Context, obj T, rs *appsv1.ReplicaSet) error {
	pc := controller.PodControl{Client: rc.c, Events: rc.Events}
	if err := pc.CreatePod(ctx, obj, newPod(rs, rc.ownerReference(obj))); err != nil {
		return fmt.Errorf("create pod for %s %s: %w", rc.kind.Name, informer.KeyOf(rs), err)
	}
	return nil
}

// PodsToDelete picks the n pods to remove first, as Kubernetes does: not
// yet scheduled before scheduled, pending before running, not ready before
// ready, ready for less time before longer, more restarts before fewer,
// newer before older.
func PodsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool { return deleteFirst(sorted[i], sorted[j]) })
	return sorted[:min(n, len(sorted))]
}

func deleteFirst(a, b *corev1.Pod) bool {
	if sa, sb := a.GetSpec().GetNodeName() != "", b.GetSpec().GetNodeName() != ""; sa != sb {
		return !sa
	}
	if pa, pb := phaseRank(a), phaseRank(b); pa != pb {
		return pa < pb
	}
	ra, rb := controller.ReadySince(a), controller.ReadySince(b)
	if (ra == nil) != (rb == nil) {
		return ra == nil
	}
	if ra != nil && !ra.AsTime().Equal(rb.AsTime()) {
		return ra.AsTime().After(rb.AsTime())
	}
	if ca, cb := restarts(a), restarts(b); ca != cb {
		return ca > cb
	}
	return a.GetMetadata().GetCreationTimestamp().AsTime().After(b.GetMetadata().GetCreationTimestamp().AsTime())
}

func phaseRank(p *corev1.Pod) int {
	switch p.GetStatus().GetPhase() {
	case "Pending":
		return 0
	case "Running":
		return 2
	default:
		return 1
	}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.GetStatus().GetContainerStatuses() {
		n += s.GetRestartCount()
	}
	return n
}
