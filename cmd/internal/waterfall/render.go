package waterfall

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Widths of the layout, in terminal columns.
const (
	DefaultWidth = 80 // when the output is not a terminal
	minBar       = 10
	minOperation = 20
	timeColumn   = 9
	gap          = "  "
)

// Render writes the waterfall of a trace's spans, laid out for a terminal
// width columns wide.
func Render(w io.Writer, traceID string, spans []Span, width int) error {
	rows, _, length := layout(spans)
	noun := "spans"
	if len(rows) == 1 {
		noun = "span"
	}
	fmt.Fprintf(w, "trace %s: %d %s from %s over %s\n\n", traceID, len(rows), noun, services(rows), FormatDuration(length))
	c := columns(rows, width)
	header := pad("COMPONENT", c.service) + gap + pad("OPERATION", c.operation) + gap +
		padLeft("START", timeColumn) + gap + padLeft("DURATION", timeColumn) + gap +
		scale(length, c.bar)
	if _, err := fmt.Fprintln(w, strings.TrimRight(header, " ")); err != nil {
		return err
	}
	for _, r := range rows {
		op := truncate(indent(r.depth)+displayName(r.Operation), c.operation)
		line := pad(r.Service, c.service) + gap + pad(op, c.operation) + gap +
			padLeft("+"+FormatDuration(r.offset), timeColumn) + gap + padLeft(FormatDuration(r.Duration), timeColumn) + gap +
			bar(r.offset, r.Duration, length, c.bar)
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// widths are the columns' widths.
type widths struct{ service, operation, bar int }

// columns fits the service and operation columns to their content and
// gives the rest of the width to the bars, shortening operations (not
// below minOperation) to keep at least minBar columns of bar.
func columns(rows []row, width int) widths {
	c := widths{service: len("COMPONENT"), operation: len("OPERATION")}
	for _, r := range rows {
		c.service = max(c.service, utf8.RuneCountInString(r.Service))
		c.operation = max(c.operation, len(indent(r.depth))+utf8.RuneCountInString(displayName(r.Operation)))
	}
	fixed := c.service + 2*timeColumn + 4*len(gap)
	c.bar = width - fixed - c.operation
	if c.bar < minBar {
		c.operation = max(minOperation, width-fixed-minBar)
		c.bar = max(minBar, width-fixed-c.operation)
	}
	return c
}

// maxIndent bounds the indentation of deep spans, so the operation
// column goes to names, not to leading blanks.
const maxIndent = 8

// indent is the operation's indentation at depth: a column per level.
func indent(depth int) string { return strings.Repeat(" ", min(depth, maxIndent)) }

// displayName shortens a gRPC method's span name to its service and
// method ("skiff.core.v1.PodService/Create" → "PodService/Create");
// other names are shown as they are.
func displayName(op string) string {
	svc, method, ok := strings.Cut(op, "/")
	if !ok || method == "" || strings.ContainsAny(svc, " ") || !strings.Contains(svc, ".") {
		return op
	}
	return svc[strings.LastIndex(svc, ".")+1:] + "/" + method
}

// bar draws a span from offset for d on a line of cells columns standing
// for length; every span gets at least one cell.
func bar(offset, d, length time.Duration, cells int) string {
	from, to := 0, cells
	if length > 0 {
		from = int(int64(offset) * int64(cells) / int64(length))
		to = int((int64(offset+d)*int64(cells) + int64(length) - 1) / int64(length))
	}
	from = min(from, cells-1)
	to = min(max(to, from+1), cells)
	return strings.Repeat(" ", from) + strings.Repeat("█", to-from)
}

// scale labels the bar column with the trace's start and end.
func scale(length time.Duration, cells int) string {
	end := FormatDuration(length)
	if cells < len(end)+2 {
		return ""
	}
	return "0" + strings.Repeat(" ", cells-1-len(end)) + end
}

// services lists the services in order of first appearance.
func services(rows []row) string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Service] {
			seen[r.Service] = true
			out = append(out, r.Service)
		}
	}
	return strings.Join(out, ", ")
}

// FormatDuration writes d with three significant digits at most: 850µs,
// 12.3ms, 1.52s.
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 100*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return trimZeros(fmt.Sprintf("%.2f", d.Seconds())) + "s"
	case d >= time.Millisecond:
		return trimZeros(fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))) + "ms"
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) + s
}

// truncate cuts s to n columns, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
