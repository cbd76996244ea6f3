package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// manage creates or deletes pods so the active ones match the replicas.
func (rc *Controller[T]) manage(ctx context.Context, key string, obj T, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	want := int(rs.GetSpec().GetReplicas())
	switch diff := len(active) - want; {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		rc.exp.ExpectCreates(key, n)
		created, err := slowStart(n, func() error { return rc.createPod(ctx, obj, rs) })
		for i := created; i < n; i++ {
			rc.exp.CreationObserved(key) // never coming
		}
		return err
	case diff > 0:
		victims := PodsToDelete(active, min(diff, BurstReplicas))
		names := make([]string, len(victims))
		for i, p := range victims {
			names[i] = informer.KeyOf(p)
		}
		rc.exp.ExpectDeletes(key, names)
		return rc.deletePods(ctx, key, obj, victims)
	}
	return nil
}

// slowStart runs fn n times in batches that double (1, 2, 4, ...) while
// they succeed, so a failing create (quota, invalid template) costs one
// call rather than n. It returns how many calls succeeded.
func slowStart(n int, fn func() error) (int, error) {
	done := 0
	for batch := 1; done < n; batch *= 2 {
		size := min(batch, n-done)
		errs := make([]error, size)
		var wg sync.WaitGroup
		for i := 0; i < size; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn()
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		done += ok
		if err := errors.Join(errs...); err != nil {
			return done, err
		}
	}
	return done, nil
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
	pod, err := rc.c.CoreV1().Pods(rs.GetMetadata().GetNamespace()).Create(ctx, newPod(rs, rc.ownerReference(obj)), client.WriteOptions{})
	if err != nil {
		if ctx.Err() == nil {
			rc.Events.Eventf(obj, events.Warning, "FailedCreate", "Error creating: %v", err)
		}
		return fmt.Errorf("create pod for %s %s: %w", rc.kind.Name, informer.KeyOf(rs), err)
	}
	rc.Events.Eventf(obj, events.Normal, "SuccessfulCreate", "Created pod: %s", pod.GetMetadata().GetName())
	return nil
}

func (rc *Controller[T]) deletePods(ctx context.Context, key string, obj T, pods []*corev1.Pod) error {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := rc.c.CoreV1().Pods(p.GetMetadata().GetNamespace()).Delete(ctx, p.GetMetadata().GetName(), nil)
			switch {
			case err == nil:
				rc.Events.Eventf(obj, events.Normal, "SuccessfulDelete", "Deleted pod: %s", p.GetMetadata().GetName())
			case client.IsNotFound(err):
				rc.exp.DeletionObserved(key, informer.KeyOf(p)) // already gone
			default:
				rc.exp.DeletionObserved(key, informer.KeyOf(p)) // never coming
				if ctx.Err() == nil {
					rc.Events.Eventf(obj, events.Warning, "FailedDelete", "Error deleting: %v", err)
				}
				errs[i] = fmt.Errorf("delete pod %s: %w", informer.KeyOf(p), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
	ra, rb := readySince(a), readySince(b)
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
