package pluginproc

import "time"

// Backoff paces restarts of a plugin: the delay doubles from Initial up to
// Max while the plugin keeps failing, and starts over after a run that
// lasted Healthy or longer.
type Backoff struct {
	Initial, Max, Healthy time.Duration

	next time.Duration
}

// DefaultBackoff is 200ms doubling up to 30s, reset after 30s of health.
func DefaultBackoff() *Backoff {
	return &Backoff{Initial: 200 * time.Millisecond, Max: 30 * time.Second, Healthy: 30 * time.Second}
}

// Next is the delay before the next restart of a plugin that ran for
// lived before it failed (0 for a start that failed).
func (b *Backoff) Next(lived time.Duration) time.Duration {
	if b.next == 0 || lived >= b.Healthy {
		b.next = b.Initial
	}
	d := b.next
	b.next = min(b.next*2, b.Max)
	return d
}
