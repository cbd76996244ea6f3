package daemonset

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// rollingUpdate replaces old pods by new ones, as Kubernetes does: without
// surge it deletes old pods (unavailable ones first) while no more than
// maxUnavailable nodes lack an available pod, and the manage pass puts new
// ones in their place; with surge it starts a new pod next to an old one
// on up to maxSurge nodes and deletes the old pod once the new one is
// available.
func (dc *Controller) rollingUpdate(ctx context.Context, key string, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) error {
	maxSurge, maxUnavailable, desired := desiredCounts(ds, nodes, byNode)
	now := time.Now()
	if maxSurge == 0 {
		var unavailable int
		var replace, candidates []*corev1.Pod
		for _, node := range sortedNodes(byNode) {
			newPod, oldPod, ok := updatedPodsOnNode(ds, byNode[node], hash)
			switch {
			case !ok, oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				// The manage pass sorts this node out; it counts as unavailable.
				unavailable++
			case newPod != nil:
				if !available(ds, newPod, now) {
					unavailable++
				}
			default:
				switch {
				case !available(ds, oldPod, now):
					replace = append(replace, oldPod)
				case unavailable >= maxUnavailable:
				default:
					candidates = append(candidates, oldPod)
				}
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return dc.syncNodes(ctx, key, ds, append(replace, candidates[:n]...), nil, hash)
	}

	var surged, availableNodes int
	var remove, sunset []*corev1.Pod
	var allowed, candidates []string
	nodeByName := map[string]*corev1.Node{}
	for _, n := range nodes {
		nodeByName[n.GetMetadata().GetName()] = n
	}
	runs := func(name string) bool {
		node, ok := nodeByName[name]
		if !ok {
			return false
		}
		run, _ := shouldRun(ds, node)
		return run
	}
	for _, name := range sortedNodes(byNode) {
		newPod, oldPod, ok := updatedPodsOnNode(ds, byNode[name], hash)
		if !ok {
			surged++ // the manage pass sorts this node out
			continue
		}
		if oldPod != nil && available(ds, oldPod, now) || oldPod == nil && newPod != nil && available(ds, newPod, now) {
			availableNodes++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			switch {
			case !available(ds, oldPod, now) && !runs(name):
				remove = append(remove, oldPod)
			case !available(ds, oldPod, now):
				allowed = append(allowed, name)
			case !runs(name):
				sunset = append(sunset, oldPod)
			case surged >= maxSurge:
			default:
				candidates = append(candidates, name)
			}
		default:
			if !available(ds, newPod, now) {
				surged++
				continue
			}
			remove = append(remove, oldPod)
		}
	}
	// Pods on nodes the daemon left go only while as many nodes as
	// desired still have an available pod.
	if spare := min(availableNodes-desired, len(sunset)); spare > 0 {
		remove = append(remove, sunset[:spare]...)
	}
	n := min(max(maxSurge-surged, 0), len(candidates))
	return dc.syncNodes(ctx, key, ds, remove, append(allowed, candidates[:n]...), hash)
}

// sortedNodes are the nodes in byNode (those that should run the daemon
// or have its pods), by name.
func sortedNodes(byNode map[string][]*corev1.Pod) []string {
	return slices.Sorted(maps.Keys(byNode))
}

// updatedPodsOnNode splits a node's live pods into the up-to-date one and
// the old one; false when there are more than one of either.
func updatedPodsOnNode(ds *appsv1.DaemonSet, pods []*corev1.Pod, hash string) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, pod := range pods {
		if pod.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if isUpdated(ds, pod, hash) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = pod
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = pod
		}
	}
	return newPod, oldPod, true
}

// isUpdated: the pod carries the current revision hash or template
// generation.
func isUpdated(ds *appsv1.DaemonSet, pod *corev1.Pod, hash string) bool {
	l := pod.GetMetadata().GetLabels()
	if hash != "" && l[RevisionHashLabel] == hash {
		return true
	}
	gen, ok := templateGeneration(ds)
	return ok && l[TemplateGenerationLabel] == strconv.FormatInt(gen, 10)
}

// desiredCounts is maxSurge and maxUnavailable as numbers of nodes, and
// how many nodes should run the daemon; with neither bound set one node
// may be unavailable.
func desiredCounts(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) (maxSurge, maxUnavailable, desired int) {
	for _, n := range nodes {
		if run, _ := shouldRun(ds, n); run {
			desired++
			if _, ok := byNode[n.GetMetadata().GetName()]; !ok {
				byNode[n.GetMetadata().GetName()] = nil
			}
		}
	}
	ru := ds.GetSpec().GetUpdateStrategy().GetRollingUpdate()
	maxUnavailable = scaled(ru.GetMaxUnavailable(), desired)
	if allowsSurge(ds) {
		maxSurge = scaled(ru.GetMaxSurge(), desired)
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	return maxSurge, maxUnavailable, desired
}

// allowsSurge: a rolling update with a non-zero maxSurge.
func allowsSurge(ds *appsv1.DaemonSet) bool {
	st := ds.GetSpec().GetUpdateStrategy()
	return st.GetType() == "RollingUpdate" && scaled(st.GetRollingUpdate().GetMaxSurge(), 100) != 0
}

// scaled is an int-or-percent of total, percentages rounded up.
func scaled(v *metav1.IntOrString, total int) int {
	if v == nil {
		return 0
	}
	if v.GetType() != 1 {
		return int(v.GetIntVal())
	}
	p, err := strconv.Atoi(strings.TrimSuffix(v.GetStrVal(), "%"))
	if err != nil {
		return 0
	}
	return int(math.Ceil(float64(p) * float64(total) / 100))
}
