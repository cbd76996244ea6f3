package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/replicaset"
)

// manage puts a daemon pod on each node that should run one and has
// none, and deletes the pods on nodes that must not keep them, the extra
// pods of a node, and failed pods (each node's failures with a back-off).
// It returns when to look again for a node in back-off.
func (dc *Controller) manage(ctx context.Context, key string, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) (time.Duration, error) {
	var remove []*corev1.Pod
	var needNodes []string
	var after time.Duration
	surge := allowsSurge(ds)
	now := time.Now()
	for _, node := range nodes {
		name := node.GetMetadata().GetName()
		run, keep := shouldRun(ds, node)
		pods := byNode[name]
		switch {
		case run && len(pods) == 0:
			needNodes = append(needNodes, name)
		case keep:
			var running []*corev1.Pod
			for _, pod := range pods {
				if pod.GetMetadata().GetDeletionTimestamp() != nil {
					continue
				}
				switch pod.GetStatus().GetPhase() {
				case "Failed":
					bk := informer.KeyOf(ds) + "/" + name
					if wait := dc.backoff.wait(bk, now); wait > 0 {
						after = earliest(after, wait)
						continue
					}
					dc.backoff.next(bk, now)
					dc.Events.Eventf(ds, events.Warning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it",
						pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), name)
					remove = append(remove, pod)
				case "Succeeded":
					remove = append(remove, pod)
				default:
					running = append(running, pod)
				}
			}
			remove = append(remove, extraPods(ds, running, surge, hash, now)...)
		case !keep && len(pods) > 0:
			for _, pod := range pods {
				if pod.GetMetadata().GetDeletionTimestamp() == nil {
					remove = append(remove, pod)
				}
			}
		}
	}
	return after, dc.syncNodes(ctx, key, ds, remove, needNodes, hash)
}

// extraPods are the running pods of one node beyond the one it keeps:
// without surge all but the oldest; with surge the old pod stays next to
// a new one only while the new one is not available and the old one is
// ready.
func extraPods(ds *appsv1.DaemonSet, running []*corev1.Pod, surge bool, hash string, now time.Time) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	sortOldestFirst(running)
	if !surge {
		return running[1:]
	}
	var out []*corev1.Pod
	var oldestNew, oldestOld *corev1.Pod
	for _, pod := range running {
		if pod.GetMetadata().GetLabels()[RevisionHashLabel] == hash {
			if oldestNew == nil {
				oldestNew = pod
				continue
			}
		} else if oldestOld == nil {
			oldestOld = pod
			continue
		}
		out = append(out, pod)
	}
	if oldestNew != nil && oldestOld != nil {
		if !ready(oldestOld) || available(ds, oldestNew, now) {
			out = append(out, oldestOld)
		}
	}
	return out
}

// sortOldestFirst orders pods by creation, then scheduled before not,
// running before pending, as Kubernetes' podByCreationTimestampAndPhase.
func sortOldestFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i].GetMetadata().GetCreationTimestamp().AsTime(), pods[j].GetMetadata().GetCreationTimestamp().AsTime()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return pods[i].GetMetadata().GetName() < pods[j].GetMetadata().GetName()
	})
}

func ready(pod *corev1.Pod) bool {
	ok, _ := replicaset.IsAvailable(pod, 0, time.Now())
	return ok
}

func available(ds *appsv1.DaemonSet, pod *corev1.Pod, now time.Time) bool {
	ok, _ := replicaset.IsAvailable(pod, time.Duration(ds.GetSpec().GetMinReadySeconds())*time.Second, now)
	return ok
}

// syncNodes deletes the pods given and creates a pod for each node named,
// at most BurstReplicas of each, creations in slow-start batches.
func (dc *Controller) syncNodes(ctx context.Context, key string, ds *appsv1.DaemonSet, remove []*corev1.Pod, nodes []string, hash string) error {
	remove = remove[:min(len(remove), BurstReplicas)]
	nodes = nodes[:min(len(nodes), BurstReplicas)]
	dc.exp.Expect(key, len(nodes), controller.PodKeys(remove))
	tmpl := podTemplate(ds, hash)
	created, createErr := controller.SlowStart(len(nodes), func(i int) error { return dc.createPod(ctx, ds, tmpl, nodes[i]) })
	for i := created; i < len(nodes); i++ {
		dc.exp.CreationObserved(key) // never coming
	}
	pc := controller.PodControl{Client: dc.c, Events: dc.Events, Expectations: dc.exp, Key: key}
	deleteErr := pc.DeletePods(ctx, ds, remove)
	return errors.Join(createErr, deleteErr)
}

// OwnerReference is the controller reference a DaemonSet puts on its pods
// and revisions.
func OwnerReference(ds *appsv1.DaemonSet) *metav1.OwnerReference {
	return controller.OwnerReference("apps/v1", "DaemonSet", ds.GetMetadata())
}

// newPod is the daemon pod for one node: the template, pinned to the node.
func newPod(ds *appsv1.DaemonSet, tmpl *corev1.PodTemplateSpec, node string) *corev1.Pod {
	meta := proto.Clone(tmpl.GetMetadata()).(*metav1.ObjectMeta)
	meta.Name = ""
	meta.GenerateName = ds.GetMetadata().GetName() + "-"
	meta.Namespace = ds.GetMetadata().GetNamespace()
	meta.OwnerReferences = []*metav1.OwnerReference{OwnerReference(ds)}
	spec := proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)
	pinToNode(spec, node)
	return &corev1.Pod{Metadata: meta, Spec: spec}
}

func (dc *Controller) createPod(ctx context.Context, ds *appsv1.DaemonSet, tmpl *corev1.PodTemplateSpec, node string) error {
	pc := controller.PodControl{Client: dc.c, Events: dc.Events, QuietTerminating: true} // the namespace goes away with the DaemonSet
	if err := pc.CreatePod(ctx, ds, newPod(ds, tmpl, node)); err != nil {
		return fmt.Errorf("create pod for daemonset %s on node %s: %w", informer.KeyOf(ds), node, err)
	}
	return nil
}
