package informer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// breakingSource lists nothing and serves watches that each deliver one
// ConfigMap and then break, as a watch does when its apiserver dies; it
// notes the resourceVersion each watch starts from and ends the test's
// context after the last.
type breakingSource struct {
	mu      sync.Mutex
	lists   int
	watches []string
	stop    context.CancelFunc
}

func (s *breakingSource) List(context.Context, client.ListOptions) ([]*corev1.ConfigMap, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return nil, "10", nil
}

func (s *breakingSource) Watch(_ context.Context, opts client.ListOptions) (client.Watcher[*corev1.ConfigMap], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watches = append(s.watches, opts.ResourceVersion)
	if len(s.watches) == 6 {
		s.stop()
	}
	n := len(s.watches)
	ch := make(chan client.Event[*corev1.ConfigMap], 1)
	ch <- client.Event[*corev1.ConfigMap]{Type: client.Added, Object: &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Namespace: "a", Name: fmt.Sprint("cm-", n), ResourceVersion: fmt.Sprint(10 + n)}}}
	close(ch)
	return closedWatcher(ch), nil
}

type closedWatcher <-chan client.Event[*corev1.ConfigMap]

func (w closedWatcher) ResultChan() <-chan client.Event[*corev1.ConfigMap] { return w }
func (closedWatcher) Stop()                                                {}

// waitsClock notes every wait and ends it at once.
type waitsClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *waitsClock) Now() time.Time { return time.Now() }

func (c *waitsClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}

// TestBrokenWatchesResumeAtOnce: a watch that delivered changes before it
// broke is resumed from the last resourceVersion after the first, short
// wait, however often that happens, and without listing again.
func TestBrokenWatchesResumeAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := &breakingSource{stop: cancel}
	clk := &waitsClock{}
	inf := New[*corev1.ConfigMap](src, Options[*corev1.ConfigMap]{Clock: clk})
	if err := inf.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if src.lists != 1 {
		t.Errorf("%d lists, want 1", src.lists)
	}
	if want := []string{"10", "11", "12", "13", "14", "15"}; !slices.Equal(src.watches, want) {
		t.Errorf("watches from %v, want %v", src.watches, want)
	}
	for _, d := range clk.waits {
		if d != 100*time.Millisecond {
			t.Errorf("waits %v, want 100ms each", clk.waits)
			break
		}
	}
}
