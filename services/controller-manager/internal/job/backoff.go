package job

import (
	"sync"
	"time"

	corev1 "skiff.dev/api/core/v1"
)

// Kubernetes' back-off before a failed pod is replaced: 10s, doubling
// with each failure since the last success, at most 10 minutes.
const (
	DefaultPodFailureBackOff = 10 * time.Second
	MaxPodFailureBackOff     = 10 * time.Minute
)

// backoffRecord is a Job's failures since its last success.
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailure              time.Time
}

// backoffStore keeps each Job's record between syncs (in memory, as
// Kubernetes does: a new leader starts without back-off).
type backoffStore struct {
	mu sync.Mutex
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *backoffStore) set(key string, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = r
}

func (s *backoffStore) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// next is the record after the pods that newly succeeded and failed: a
// success resets the count to the failures that came after it.
func (r backoffRecord) next(succeeded, failed []*corev1.Pod) backoffRecord {
	sortByFinished(succeeded)
	sortByFinished(failed)
	if len(succeeded) == 0 {
		if len(failed) == 0 {
			return r
		}
		return backoffRecord{r.failuresAfterLastSuccess + int32(len(failed)), finishedAt(failed[len(failed)-1])}
	}
	out := backoffRecord{}
	lastSuccess := finishedAt(succeeded[len(succeeded)-1])
	for i := len(failed) - 1; i >= 0; i-- {
		t := finishedAt(failed[i])
		if !t.After(lastSuccess) {
			break
		}
		if out.lastFailure.IsZero() {
			out.lastFailure = t
		}
		out.failuresAfterLastSuccess++
	}
	return out
}

// remaining is how long to wait before creating pods again.
func (r backoffRecord) remaining(now time.Time) time.Duration {
	return backoffRemaining(now, r.failuresAfterLastSuccess, r.lastFailure)
}

func backoffRemaining(now time.Time, failures int32, last time.Time) time.Duration {
	if failures == 0 {
		return 0
	}
	d := DefaultPodFailureBackOff
	for i := 1; i < int(failures); i++ {
		d *= 2
		if d >= MaxPodFailureBackOff {
			d = MaxPodFailureBackOff
			break
		}
	}
	elapsed := now.Sub(last)
	if d < elapsed {
		return 0
	}
	return d - elapsed
}
