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
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
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

func TestCreatePod(t *testing.T) {
	rec, s := recorder(t)
	owner := testPod("owner", nil, nil)
	terminating := &client.StatusError{Status: &metav1.Status{Reason: "Forbidden", Code: 403, Message: "namespace ns is being terminated",
		Details: &metav1.StatusDetails{Causes: []*metav1.StatusCause{{Reason: "NamespaceTerminating"}}}}}
	// A create a cancelled context ends records nothing (first: the
	// events are written in order, so one would show among the three).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pc := PodControl{Events: rec, create: func(context.Context, *corev1.Pod) (*corev1.Pod, error) { return nil, context.Canceled }}
	if err := pc.CreatePod(ctx, owner, testPod("", nil, nil)); err == nil {
		t.Fatal("no error")
	}
	for _, tc := range []struct {
		err     error
		quiet   bool
		wantErr bool
	}{
		{err: nil},
		{err: errors.New("exceeded quota"), wantErr: true},
		{err: terminating, wantErr: true},
		{err: terminating, quiet: true},
	} {
		pc := &PodControl{Events: rec, QuietTerminating: tc.quiet, create: func(_ context.Context, p *corev1.Pod) (*corev1.Pod, error) {
			if tc.err != nil {
				return nil, tc.err
			}
			return testPod("web-x1", nil, nil), nil
		}}
		if err := pc.CreatePod(context.Background(), owner, testPod("", nil, nil)); (err != nil) != tc.wantErr || (err != nil && err != tc.err) {
			t.Errorf("%v (quiet %v): error %v", tc.err, tc.quiet, err)
		}
	}
	evs := s.wait(t, 3)
	want := "Normal SuccessfulCreate Created pod: web-x1,Warning FailedCreate Error creating: exceeded quota,Warning FailedCreate Error creating: namespace ns is being terminated"
	if strings.Join(evs, ",") != want {
		t.Errorf("events %v, want %s", evs, want)
	}
}

func TestSlowStart(t *testing.T) {
	var calls atomic.Int32
	var seen [10]atomic.Bool
	done, err := SlowStart(10, func(i int) error { calls.Add(1); seen[i].Store(true); return nil })
	if done != 10 || err != nil || calls.Load() != 10 {
		t.Fatalf("done %d, err %v, calls %d", done, err, calls.Load())
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("call %d not made", i)
		}
	}
	calls.Store(0)
	done, err = SlowStart(100, func(int) error { calls.Add(1); return errors.New("forbidden") })
	if done != 0 || err == nil || calls.Load() != 1 {
		t.Fatalf("failing: done %d, err %v, calls %d; want one call", done, err, calls.Load())
	}
	// Three succeed (batches of 1 and 2), the fourth fails: the batch of
	// four stops the run.
	calls.Store(0)
	done, err = SlowStart(100, func(i int) error {
		calls.Add(1)
		if i == 3 {
			return errors.New("quota")
		}
		return nil
	})
	if done != 6 || err == nil || err.Error() != "quota" || calls.Load() != 7 {
		t.Fatalf("done %d, err %v, calls %d; want 6 of 7 calls", done, err, calls.Load())
	}
}
