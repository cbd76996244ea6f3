// Package waterfall lays the spans of one trace out as a terminal
// waterfall: one row per span in start order, the operation indented by
// its depth in the span tree, offsets from the trace's start and a bar per
// span scaled to the available width.
package waterfall

import (
	"cmp"
	"slices"
	"time"
)

// Span is what the waterfall needs of a span.
type Span struct {
	ID, ParentID string // ParentID is empty for a root
	Service      string
	Operation    string
	Start        time.Time
	Duration     time.Duration
}

// row is a span placed in the waterfall.
type row struct {
	Span
	depth  int
	offset time.Duration // from the trace's start
}

// layout orders spans by start and computes each one's depth and offset;
// it also returns the trace's start and length (first start to last end).
// A span whose parent is not in the trace counts as a root.
func layout(spans []Span) (rows []row, start time.Time, length time.Duration) {
	if len(spans) == 0 {
		return nil, time.Time{}, 0
	}
	byID := make(map[string]Span, len(spans))
	for _, s := range spans {
		byID[s.ID] = s
	}
	start, end := spans[0].Start, spans[0].Start.Add(spans[0].Duration)
	for _, s := range spans {
		start = minTime(start, s.Start)
		if e := s.Start.Add(s.Duration); e.After(end) {
			end = e
		}
	}
	rows = make([]row, 0, len(spans))
	for _, s := range spans {
		rows = append(rows, row{Span: s, depth: depth(s, byID), offset: s.Start.Sub(start)})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.depth, b.depth),
			cmp.Compare(a.Service, b.Service), cmp.Compare(a.Operation, b.Operation))
	})
	return rows, start, end.Sub(start)
}

// depth counts a span's ancestors in the trace, stopping at a cycle.
func depth(s Span, byID map[string]Span) int {
	seen := map[string]bool{s.ID: true}
	d := 0
	for {
		p, ok := byID[s.ParentID]
		if s.ParentID == "" || !ok || seen[p.ID] {
			return d
		}
		seen[p.ID] = true
		s = p
		d++
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
