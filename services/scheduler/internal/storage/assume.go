package storage

import (
	"context"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
)

// volumeHold is a volume Reserve set aside for a claim, by the pods
// (uids) that chose it for the claim; it lasts while one of them holds it.
type volumeHold struct {
	claim string
	pods  map[string]bool
}

// claimHold is a claim as Reserve assumed it (with the selected node) for
// one pod; it shadows the informer's copy until that is newer.
type claimHold struct {
	claim *corev1.PersistentVolumeClaim
	pod   string
}

// availableVolumes are the volumes of a class a claim could bind to: not
// assumed for another claim, not being deleted.
func (s *Store) availableVolumes(className, claimKey string) []*Volume {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Volume
	for _, v := range s.volumes {
		if v.ClassName != className || v.Deleting {
			continue
		}
		if h, ok := s.assumed[v.Name]; ok && h.claim != claimKey {
			continue
		}
		out = append(out, v)
	}
	return out
}

// assumedFor reports whether a volume is held for the claim.
func (s *Store) assumedFor(volume, claimKey string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.assumed[volume]
	return ok && h.claim == claimKey
}

// capacities are the CSIStorageCapacities of a class.
func (s *Store) capacitiesOf(className string) []*Capacity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Capacity
	for _, c := range s.capacities {
		if c.ClassName == className {
			out = append(out, c)
		}
	}
	return out
}

// AssumeVolume reserves a volume for a claim of pod (its uid) until
// PreBind has bound it or Unreserve gives it back, so no other pod's
// claim picks it meanwhile.
func (s *Store) AssumeVolume(volume, claimKey, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.assumed[volume]
	if !ok || h.claim != claimKey {
		h = volumeHold{claim: claimKey, pods: map[string]bool{}}
		s.assumed[volume] = h
	}
	h.pods[pod] = true
}

// ForgetVolume ends pod's hold of a volume; other pods' are kept.
func (s *Store) ForgetVolume(volume, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.assumed[volume]; ok {
		delete(h.pods, pod)
		if len(h.pods) == 0 {
			delete(s.assumed, volume)
		}
	}
}

// AssumeClaim makes Claim return c for pod until the informer delivers a
// newer version, as Kubernetes' assume cache: a second pod of the same
// claim then sees the node the first one selected.
func (s *Store) AssumeClaim(c *corev1.PersistentVolumeClaim, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claimHolds[ClaimKey(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName())] = claimHold{claim: c, pod: pod}
	close(s.changed)
	s.changed = make(chan struct{})
}

// ForgetClaim ends pod's assumption of a claim; another pod's is kept.
func (s *Store) ForgetClaim(namespace, name, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ClaimKey(namespace, name)
	if s.claimHolds[key].pod == pod {
		delete(s.claimHolds, key)
	}
}

// newerThan reports whether resource version a is newer than b; versions
// that are not numbers are newer whenever they differ.
func newerThan(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != b
	}
	return x > y
}

// Wait calls done after every change of the store until it reports true
// or ctx ends; it returns ctx's error then.
func (s *Store) Wait(ctx context.Context, done func() (bool, error)) error {
	for {
		s.mu.RLock()
		changed := s.changed
		s.mu.RUnlock()
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
