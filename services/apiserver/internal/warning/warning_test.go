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

func TestRecorderSkipsRepeats(t *testing.T) {
	ctx, rec := NewContext(context.Background())
	for _, msg := range []string{"a", "b", "a", "b", "c"} {
		Add(ctx, msg)
	}
	got, want := rec.Warnings(), []string{"a", "b", "c"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
