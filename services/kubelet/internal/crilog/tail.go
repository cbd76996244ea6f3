package crilog

import (
	"bytes"
	"errors"
	"io"
)

// tailChunk is how much of the file is read at a time going backward.
const tailChunk = 32 << 10

// tailStart returns the offset of the first entry of the last n lines of
// a log file of size bytes. A line ends with a full entry (F) of its
// stream; an unfinished last line of a stream (partial entries) counts as
// one; lines that are not entries do not count. A partial line that the
// other stream's lines interrupt is not untangled: the tail may then
// start inside it.
func tailStart(r io.ReaderAt, size, n int64) (int64, error) {
	var count int64
	seen := map[string]bool{}
	start := int64(0)
	err := backwardLines(r, size, func(lineStart, lineEnd int64, line []byte) bool {
		stream, partial, ok := kind(line)
		if !ok {
			return true
		}
		ends := !partial || !seen[stream]
		seen[stream] = true
		if !ends {
			return true
		}
		if count == n {
			start = lineEnd
			return false
		}
		count++
		return true
	})
	return start, err
}

// backwardLines calls fn for each line of the file from the last to the
// first, with its offsets (end past the newline) and its text without the
// newline, until fn returns false.
func backwardLines(r io.ReaderAt, size int64, fn func(start, end int64, line []byte) bool) error {
	pos, lineEnd := size, size
	var carry []byte // [pos, lineEnd): the end of a line whose start is not read yet
	for pos > 0 {
		n := min(int64(tailChunk), pos)
		pos -= n
		data := make([]byte, n, n+int64(len(carry)))
		if _, err := r.ReadAt(data, pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		data = append(data, carry...)
		for {
			body := data
			if len(body) > 0 && body[len(body)-1] == '\n' {
				body = body[:len(body)-1]
			}
			i := bytes.LastIndexByte(body, '\n')
			if i < 0 {
				carry = data
				break
			}
			start := pos + int64(i) + 1
			if !fn(start, lineEnd, body[i+1:]) {
				return nil
			}
			lineEnd, data = start, data[:i+1]
		}
	}
	if len(carry) > 0 {
		fn(0, lineEnd, bytes.TrimSuffix(carry, []byte{'\n'}))
	}
	return nil
}
