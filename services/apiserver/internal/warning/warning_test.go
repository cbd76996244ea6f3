package warning

import (
	"context"
	"testing"
)

func TestRecorder(t *testing.T) {
	Add(context.Background(), "dropped") // no recorder: ignored
	ctx, rec := NewContext(context.Background())
	Add(ctx, "unknown field \"spec.x\"")
	if got := rec.Warnings(); len(got) != 1 || got[0] != "unknown field \"spec.x\"" {
		t.Errorf("got %q, want one warning", got)
	}
}
