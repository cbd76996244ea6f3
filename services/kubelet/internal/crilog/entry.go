// Package crilog reads container log files in the CRI format the runtime
// writes, one entry a line: `<RFC3339Nano time> <stdout|stderr> <F|P>
// <text>`, where P marks part of a line that the next entries of the same
// stream continue. It gives back whole lines, the last N of them, those
// since a time, with or without their timestamps, and follows a file while
// its container runs.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Entry is one line of a CRI log file.
type Entry struct {
	Time    time.Time
	Stream  string // stdout or stderr
	Partial bool   // P: the next entry of the stream continues the line
	Text    []byte // without the trailing newline
}

var errMalformed = errors.New("not a CRI log entry")

// ParseEntry reads one line of a CRI log file, without its newline. Text
// points into line.
func ParseEntry(line []byte) (Entry, error) {
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no timestamp", errMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp %q", errMalformed, ts)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return e, fmt.Errorf("%w: stream %q", errMalformed, stream)
	}
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	// The tag may carry more flags after a colon; the first says full or partial.
	flag, _, _ := bytes.Cut(tag, []byte{':'})
	switch string(flag) {
	case "F":
	case "P":
		e.Partial = true
	default:
		return e, fmt.Errorf("%w: tag %q", errMalformed, tag)
	}
	e.Time, e.Stream, e.Text = t, string(stream), text
	return e, nil
}

// kind reads the stream and the partial flag of a log file line without
// parsing its timestamp; ok is false for lines that are not entries.
func kind(line []byte) (stream string, partial, ok bool) {
	_, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return "", false, false
	}
	s, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(s) != "stdout" && string(s) != "stderr") || len(rest) == 0 {
		return "", false, false
	}
	return string(s), rest[0] == 'P', true
}
