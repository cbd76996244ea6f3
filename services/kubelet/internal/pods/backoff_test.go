package pods

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := newBackoff(10*time.Second, 40*time.Second)
	now := time.Unix(1000, 0)
	if w := b.wait("k", now, now); w != 0 {
		t.Fatalf("first restart waits %v, want none", w)
	}
	// Each restart doubles the delay, counted from when the container ended.
	for _, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second} {
		b.next("k", now)
		ended := now.Add(time.Second)
		if got := b.wait("k", ended, ended); got != want {
			t.Errorf("wait after ending = %v, want %v", got, want)
		}
		if got := b.wait("k", ended, ended.Add(want)); got != 0 {
			t.Errorf("wait once the delay passed = %v, want 0", got)
		}
		now = ended.Add(want)
	}
	// Unused for twice the maximum: starts over.
	later := now.Add(81 * time.Second)
	if got := b.wait("k", later, later); got != 0 {
		t.Errorf("after a long quiet spell wait = %v, want 0", got)
	}
	b.next("k", later)
	if got := b.delay("k"); got != 10*time.Second {
		t.Errorf("delay after reset = %v, want 10s", got)
	}
	b.forgetPod("k")
	b.next("uid/c", later)
	b.forgetPod("uid")
	if got := b.delay("uid/c"); got != 0 {
		t.Errorf("forgetPod left delay %v", got)
	}
}
