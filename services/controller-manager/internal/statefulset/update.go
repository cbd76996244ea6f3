package statefulset

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/controller-manager/internal/controller"
)

// maxBatch bounds the pods a Parallel set creates or deletes at once.
const maxBatch = 500

// pass is one pass over a set, as Kubernetes' StatefulSet control does
// it: make the missing replicas (in ordinal order, each Running and Ready,
// and available, before the next under OrderedReady), delete the
// replicas beyond the count (from the highest ordinal, one at a time
// under OrderedReady), then replace the pods of an old revision from the
// highest ordinal down to the partition. It returns the status it saw.
type pass struct {
	sc                    *Controller
	set                   *appsv1.StatefulSet
	currentSet, updateSet *appsv1.StatefulSet
	current, update       *appsv1.ControllerRevision
	now                   time.Time
}

func (s *pass) minReady() int32 { return s.set.GetSpec().GetMinReadySeconds() }

// newPod is the pod of an ordinal that does not exist: the current
// revision's below the partition, the update revision's from it on (or
// below the current replicas' count when the set has no partition), as
// Kubernetes makes them.
func (s *pass) newPod(ordinal int) *corev1.Pod {
	st := s.currentSet.GetSpec().GetUpdateStrategy()
	start := startOrdinal(s.currentSet)
	useCurrent := st.GetType() == "RollingUpdate" && st.GetRollingUpdate() == nil && ordinal < start+int(s.currentSet.GetStatus().GetCurrentReplicas()) ||
		st.GetRollingUpdate() != nil && ordinal < start+int(st.GetRollingUpdate().GetPartition())
	if useCurrent {
		pod := newPod(s.currentSet, ordinal)
		pod.Metadata.Labels[revisionLabel] = s.current.GetMetadata().GetName()
		return pod
	}
	pod := newPod(s.updateSet, ordinal)
	pod.Metadata.Labels[revisionLabel] = s.update.GetMetadata().GetName()
	return pod
}

func (s *pass) run(ctx context.Context, collisions int32, pods []*corev1.Pod) (*appsv1.StatefulSetStatus, error) {
	status := &appsv1.StatefulSetStatus{ObservedGeneration: s.set.GetMetadata().GetGeneration(),
		CurrentRevision: s.current.GetMetadata().GetName(), UpdateRevision: s.update.GetMetadata().GetName(),
		CollisionCount: &collisions, Conditions: s.set.GetStatus().GetConditions()}
	count := int(s.set.GetSpec().GetReplicas())
	replicas := make([]*corev1.Pod, count)
	var condemned []*corev1.Pod
	for _, p := range pods {
		switch {
		case inRange(p, s.set):
			replicas[ordinalOf(p)-startOrdinal(s.set)] = p
		case ordinalOf(p) >= 0:
			condemned = append(condemned, p)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = s.newPod(startOrdinal(s.set) + i)
		}
	}
	sort.SliceStable(condemned, func(i, j int) bool { return ordinalOf(condemned[i]) > ordinalOf(condemned[j]) })
	var firstUnavailable *corev1.Pod
	for _, p := range replicas {
		if firstUnavailable == nil && isUnavailable(p, s.minReady(), s.now) {
			firstUnavailable = p
		}
	}
	for i := len(condemned) - 1; i >= 0 && firstUnavailable == nil; i-- {
		if isUnavailable(condemned[i], s.minReady(), s.now) {
			firstUnavailable = condemned[i]
		}
	}
	s.count(status, replicas, condemned)
	if s.set.GetMetadata().GetDeletionTimestamp() != nil {
		return status, nil
	}
	ordered := s.set.GetSpec().GetPodManagementPolicy() != "Parallel"

	if stop, err := forAll(len(replicas), ordered, func(i int) (bool, error) { return s.processReplica(ctx, ordered, replicas, i) }); stop || err != nil {
		s.count(status, replicas, condemned)
		return status, err
	}
	// Claims of pods about to be scaled down get the owners the policy
	// wants before the pods go.
	fixClaims := func(i int) (bool, error) {
		if !s.sc.claimsMatchPolicy(s.updateSet, condemned[i]) {
			return false, s.sc.updateClaimOwners(ctx, s.updateSet, condemned[i])
		}
		return false, nil
	}
	if _, err := forAll(len(condemned), ordered, fixClaims); err != nil {
		s.count(status, replicas, condemned)
		return status, err
	}
	processCondemned := func(i int) (bool, error) { return s.processCondemned(ctx, ordered, firstUnavailable, condemned[i]) }
	if stop, err := forAll(len(condemned), ordered, processCondemned); stop || err != nil {
		s.count(status, replicas, condemned)
		return status, err
	}
	s.count(status, replicas, condemned)
	if s.set.GetSpec().GetUpdateStrategy().GetType() == "OnDelete" {
		return status, nil
	}
	return status, s.rollingUpdate(ctx, status, replicas)
}

// count fills in the replica counts from the pods as they are now.
func (s *pass) count(status *appsv1.StatefulSetStatus, lists ...[]*corev1.Pod) {
	status.Replicas, status.ReadyReplicas, status.AvailableReplicas, status.CurrentReplicas, status.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, list := range lists {
		for _, p := range list {
			if isCreated(p) {
				status.Replicas++
			}
			if isRunningAndReady(p) {
				status.ReadyReplicas++
				if isAvailable(p, s.minReady(), s.now) {
					status.AvailableReplicas++
				}
			}
			if isCreated(p) && !isTerminating(p) {
				switch rev := podRevision(p); {
				case rev == s.current.GetMetadata().GetName() && rev == s.update.GetMetadata().GetName():
					status.CurrentReplicas++
					status.UpdatedReplicas++
				case rev == s.current.GetMetadata().GetName():
					status.CurrentReplicas++
				case rev == s.update.GetMetadata().GetName():
					status.UpdatedReplicas++
				}
			}
		}
	}
}

// processReplica brings one replica towards its desired state; true
// stops the pass (wait for the next event).
func (s *pass) processReplica(ctx context.Context, ordered bool, replicas []*corev1.Pod, i int) (bool, error) {
	pod := replicas[i]
	// A finished pod is replaced, whatever its exit code.
	if isFinished(pod) {
		if pod.GetMetadata().GetDeletionTimestamp() == nil {
			if err := s.sc.deletePod(ctx, s.set, pod); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	if !isCreated(pod) {
		if s.sc.claimIsStale(s.set, pod) {
			// Wait for the garbage collector to delete the claim of the
			// pod scaled down before.
			return true, controller.ErrRetry
		}
		if err := s.sc.createPod(ctx, s.set, pod); err != nil {
			return true, err
		}
		if ordered {
			return true, nil
		}
	}
	if isPending(pod) {
		if err := s.sc.createClaims(ctx, s.set, pod); err != nil {
			return true, err
		}
		if err := s.sc.updateClaimOwners(ctx, s.set, pod); err != nil {
			return true, err
		}
	}
	if isTerminating(pod) && ordered {
		return true, nil
	}
	if !isRunningAndReady(pod) && ordered {
		return true, nil
	}
	if !isAvailable(pod, s.minReady(), s.now) && ordered {
		return true, nil
	}
	if !isCreated(pod) {
		return false, nil // made in this pass (Parallel); the cache has not seen it yet
	}
	if identityMatches(s.set, pod) && storageMatches(s.set, pod) && s.sc.claimsMatchPolicy(s.updateSet, pod) {
		return false, nil
	}
	return false, s.sc.updatePod(ctx, s.updateSet, pod)
}

// processCondemned deletes one pod beyond the replica count. Under
// OrderedReady it waits for a terminating pod, and for an unhealthy one
// unless that pod is the first unavailable pod of the set.
func (s *pass) processCondemned(ctx context.Context, ordered bool, firstUnavailable, pod *corev1.Pod) (bool, error) {
	if isTerminating(pod) {
		return ordered, nil
	}
	if ordered && pod != firstUnavailable && (!isRunningAndReady(pod) || !isAvailable(pod, s.minReady(), s.now)) {
		return true, nil
	}
	return true, s.sc.deletePod(ctx, s.set, pod)
}

// rollingUpdate deletes, from the highest ordinal down to the partition,
// a pod of an old revision; it is made again at the update revision. With
// maxUnavailable, up to that many pods are unavailable at once; without,
// one, and each replaced pod is available before the next goes.
func (s *pass) rollingUpdate(ctx context.Context, status *appsv1.StatefulSetStatus, replicas []*corev1.Pod) error {
	ru := s.set.GetSpec().GetUpdateStrategy().GetRollingUpdate()
	partition := int(ru.GetPartition())
	update := s.update.GetMetadata().GetName()
	if mu := ru.GetMaxUnavailable(); mu != nil {
		maxUnavailable := scaled(mu, len(replicas))
		unavailable := 0
		for _, p := range replicas {
			if isUnavailable(p, s.minReady(), s.now) {
				unavailable++
			}
		}
		deleted := 0
		for i := len(replicas) - 1; i >= partition && deleted < maxUnavailable-unavailable; i-- {
			if podRevision(replicas[i]) != update && !isTerminating(replicas[i]) {
				if err := s.sc.deletePod(ctx, s.set, replicas[i]); err != nil {
					return err
				}
				deleted++
				status.CurrentReplicas--
			}
		}
		return nil
	}
	for i := len(replicas) - 1; i >= partition; i-- {
		if podRevision(replicas[i]) != update && !isTerminating(replicas[i]) {
			status.CurrentReplicas--
			return s.sc.deletePod(ctx, s.set, replicas[i])
		}
		if isUnavailable(replicas[i], s.minReady(), s.now) {
			return nil
		}
	}
	return nil
}

// scaled is an int-or-percent of total, a percentage rounded down, at
// least 1, as Kubernetes reads a StatefulSet's maxUnavailable.
func scaled(v *metav1.IntOrString, total int) int {
	n := int(v.GetIntVal())
	if v.GetType() == 1 {
		pct := 0
		for _, c := range v.GetStrVal() {
			if c >= '0' && c <= '9' {
				pct = pct*10 + int(c-'0')
			}
		}
		n = pct * total / 100
	}
	return max(n, 1)
}

// forAll runs fn for each index: in order, stopping at the first that
// stops or fails, when ordered; otherwise in batches that double (1, 2,
// 4, ... up to maxBatch) while they succeed.
func forAll(n int, ordered bool, fn func(i int) (bool, error)) (bool, error) {
	if ordered {
		for i := range n {
			if stop, err := fn(i); stop || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	next := 0
	for batch := min(1, n); batch > 0; batch = min(2*batch, n-next, maxBatch) {
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for k := range batch {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[k] = fn(i)
			}(next + k)
		}
		wg.Wait()
		next += batch
		if err := errors.Join(errs...); err != nil {
			return true, err
		}
	}
	return false, nil
}
