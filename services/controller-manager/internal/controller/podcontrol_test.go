package controller

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
)

// sink keeps the events written.
type sink struct {
	mu  sync.Mutex
	evs []string
}

func (s *sink) Create(_ context.Context, ev *corev1.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, ev.GetType()+" "+ev.GetReason()+" "+ev.GetMessage())
	return nil
}

func (s *sink) Patch(context.Context, string, string, []byte) error { return nil }

func (s *sink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		evs := append([]string(nil), s.evs...)
		s.mu.Unlock()
		if len(evs) >= n {
			sort.Strings(evs)
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want %d", evs, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func recorder(t *testing.T) (*events.Recorder, *sink) {
	s := &sink{}
	b := events.NewBroadcaster(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b.Recorder("test", ""), s
}

func TestDeletePods(t *testing.T) {
	rec, s := recorder(t)
	owner := testPod("owner", nil, nil)
	pods := []*corev1.Pod{testPod("a", nil, nil), testPod("b", nil, nil), testPod("gone", nil, nil)}
	exp := NewExpectations()
	exp.ExpectDeletes("ns/owner", PodKeys(append(pods, testPod("later", nil, nil))))
	var deleted atomic.Int32
	pc := PodControl{Events: rec, Expectations: exp, Key: "ns/owner", Deleted: func(*corev1.Pod) { deleted.Add(1) },
		del: func(_ context.Context, p *corev1.Pod) error {
			switch p.GetMetadata().GetName() {
			case "b":
				return errors.New("forbidden")
			case "gone":
				return notFound
			}
			return nil
		}}
	err := pc.DeletePods(context.Background(), owner, pods)
	if err == nil || err.Error() != "delete pod ns/b: forbidden" {
		t.Fatalf("error %v", err)
	}
	if deleted.Load() != 2 {
		t.Errorf("deleted %d, want a and gone", deleted.Load())
	}
	evs := s.wait(t, 2)
	if want := "Normal SuccessfulDelete Deleted pod: a,Warning FailedDelete Error deleting: forbidden"; strings.Join(evs, ",") != want {
		t.Errorf("events %v, want %s", evs, want)
	}
	// The failed and the gone pod's deletions will not show in the
	// informer; a's will, and later's is still expected.
	exp.DeletionObserved("ns/owner", "ns/a")
	if exp.Satisfied("ns/owner") {
		t.Fatal("satisfied before later's deletion shows")
	}
	exp.DeletionObserved("ns/owner", "ns/later")
	if !exp.Satisfied("ns/owner") {
		t.Fatal("failed and gone pods' deletions still expected")
	}
}

func TestDeletePodsBeforeAndGoneInInformer(t *testing.T) {
	exp := NewExpectations()
	pods := []*corev1.Pod{testPod("a", nil, nil), testPod("gone", nil, nil), testPod("kept", nil, nil)}
	exp.ExpectDeletes("ns/owner", PodKeys(pods))
	var before, deleted atomic.Int32
	pc := PodControl{Expectations: exp, Key: "ns/owner", GoneShowsInInformer: true,
		Before: func(_ context.Context, p *corev1.Pod) error {
			before.Add(1)
			if p.GetMetadata().GetName() == "kept" {
				return errors.New("remove tracking finalizer from pod ns/kept: conflict")
			}
			return nil
		},
		Deleted: func(*corev1.Pod) { deleted.Add(1) },
		del: func(_ context.Context, p *corev1.Pod) error {
			if p.GetMetadata().GetName() == "gone" {
				return notFound
			}
			if p.GetMetadata().GetName() == "kept" {
				t.Error("deleted a pod whose Before failed")
			}
			return nil
		}}
	err := pc.DeletePods(context.Background(), testPod("owner", nil, nil), pods)
	if err == nil || err.Error() != "delete pod ns/kept: remove tracking finalizer from pod ns/kept: conflict" {
		t.Fatalf("error %v", err)
	}
	if before.Load() != 3 || deleted.Load() != 2 {
		t.Fatalf("before %d, deleted %d", before.Load(), deleted.Load())
	}
	exp.DeletionObserved("ns/owner", "ns/a")
	if exp.Satisfied("ns/owner") {
		t.Fatal("the gone pod's deletion is left for the informer")
	}
	exp.DeletionObserved("ns/owner", "ns/gone")
	if !exp.Satisfied("ns/owner") {
		t.Fatal("the failed pod's deletion still expected")
	}
}

func TestSlowStart(t *testing.T) {
	var calls atomic.Int32
	done, err := SlowStart(10, func() error { calls.Add(1); return nil })
	if done != 10 || err != nil || calls.Load() != 10 {
		t.Fatalf("done %d, err %v, calls %d", done, err, calls.Load())
	}
	calls.Store(0)
	done, err = SlowStart(100, func() error { calls.Add(1); return errors.New("forbidden") })
	if done != 0 || err == nil || calls.Load() != 1 {
		t.Fatalf("failing: done %d, err %v, calls %d; want one call", done, err, calls.Load())
	}
}
