package waterfall

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// sample is a small trace: a write, a reconcile under it and a call under
// that, and a span whose parent is not in the trace.
var sample = []Span{
	{ID: "c", ParentID: "b", Service: "controller-manager", Operation: "create replicaset", Start: at(30), Duration: ms(20)},
	{ID: "a", Service: "apiserver", Operation: "POST /apis/apps/v1/namespaces/default/deployments", Start: at(0), Duration: ms(10)},
	{ID: "b", ParentID: "a", Service: "controller-manager", Operation: "reconcile deployment", Start: at(20), Duration: ms(50)},
	{ID: "d", ParentID: "gone", Service: "kubelet", Operation: "StartContainer", Start: at(80), Duration: ms(20)},
}

func TestLayout(t *testing.T) {
	rows, start, length := layout(sample)
	if !start.Equal(t0) || length != ms(100) {
		t.Errorf("got start %v length %v, want %v and 100ms", start, length, t0)
	}
	want := []struct {
		id     string
		depth  int
		offset time.Duration
	}{{"a", 0, 0}, {"b", 1, ms(20)}, {"c", 2, ms(30)}, {"d", 0, ms(80)}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if r := rows[i]; r.ID != w.id || r.depth != w.depth || r.offset != w.offset {
			t.Errorf("row %d: got %s depth %d offset %v, want %s depth %d offset %v", i, r.ID, r.depth, r.offset, w.id, w.depth, w.offset)
		}
	}
}

func TestLayoutSurvivesACycle(t *testing.T) {
	rows, _, _ := layout([]Span{{ID: "x", ParentID: "y", Start: at(0)}, {ID: "y", ParentID: "x", Start: at(1)}})
	if len(rows) != 2 || rows[0].depth != 1 || rows[1].depth != 1 {
		t.Errorf("got %+v, want two rows of depth 1", rows)
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		name              string
		offset, d, length time.Duration
		cells             int
		want              string
	}{
		{"whole trace", 0, ms(100), ms(100), 10, "██████████"},
		{"second half", ms(50), ms(50), ms(100), 10, "     █████"},
		{"rounds outward", ms(15), ms(10), ms(100), 10, " ██"},
		{"tiny span gets a cell", ms(42), 0, ms(100), 10, "    █"},
		{"at the very end", ms(100), 0, ms(100), 10, "         █"},
		{"empty trace", 0, 0, 0, 4, "████"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bar(tc.offset, tc.d, tc.length, tc.cells); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{850 * time.Microsecond, "850µs"},
		{ms(12) + 340*time.Microsecond, "12.3ms"},
		{ms(20), "20ms"},
		{ms(1520), "1.52s"},
		{2 * time.Second, "2s"},
		{150 * time.Second, "150s"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v): got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, "4bf92f3577b34da6a3ce929d0e0e4736", sample, 110); err != nil {
		t.Fatal(err)
	}
	want := `trace 4bf92f3577b34da6a3ce929d0e0e4736: 4 spans from apiserver, controller-manager, kubelet over 100ms

COMPONENT           OPERATION                                              START   DURATION  0           100ms
apiserver           POST /apis/apps/v1/namespaces/default/deployments       +0µs       10ms  ██
controller-manager   reconcile deployment                                  +20ms       50ms     █████████
controller-manager    create replicaset                                    +30ms       20ms       ████
kubelet             StartContainer                                         +80ms       20ms               ████
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderNarrowTerminalShortensOperations(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, "t", sample, 80); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[2:] {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d columns, want at most 80: %q", n, line)
		}
	}
	if !strings.Contains(b.String(), "POST /apis/apps/v1/namesp…") {
		t.Errorf("want the long operation cut with an ellipsis, got:\n%s", b.String())
	}
}

func TestDisplayName(t *testing.T) {
	for op, want := range map[string]string{
		"skiff.core.v1.PodService/Create":                   "PodService/Create",
		"runtime.v1.RuntimeService/RunPodSandbox":           "RuntimeService/RunPodSandbox",
		"POST /apis/apps/v1/namespaces/default/deployments": "POST /apis/apps/v1/namespaces/default/deployments",
		"reconcile deployment":                              "reconcile deployment",
		"proxy.SyncRules":                                   "proxy.SyncRules",
	} {
		if got := displayName(op); got != want {
			t.Errorf("displayName(%q) = %q, want %q", op, got, want)
		}
	}
	if got := indent(30); len(got) != maxIndent {
		t.Errorf("indent(30) is %d columns, want %d", len(got), maxIndent)
	}
}
