package crilog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Options say which part of a log to read and how to print it.
type Options struct {
	// TailLines keeps only the last lines; negative reads them all.
	TailLines int64
	// Since leaves out lines older than this; zero keeps all.
	Since time.Time
	// Timestamps prints each line's time (TimeFormat) and a space before it.
	Timestamps bool
	// LimitBytes ends the output after this many bytes; 0 is no limit.
	LimitBytes int64
	// Follow keeps printing new lines while the container runs.
	Follow bool
	// Poll is how often a followed file is checked for new lines
	// (default 200ms).
	Poll time.Duration
}

// DefaultPoll is how often a followed log is checked for growth.
const DefaultPoll = 200 * time.Millisecond

// Running reports whether the container still runs, so its log may grow.
type Running func(ctx context.Context) bool

// ReadFile prints the log at path to w as opts say. With Follow it goes
// on until running reports false and the file is drained, or ctx ends
// (its error is returned then). A writer with a Flush method is flushed
// after every batch of lines.
func ReadFile(ctx context.Context, path string, opts Options, w io.Writer, running Running) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the container's log: %w", err)
	}
	defer f.Close()
	if opts.TailLines >= 0 {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("stat the container's log: %w", err)
		}
		start, err := tailStart(f, fi.Size(), opts.TailLines)
		if err != nil {
			return fmt.Errorf("find the last %d lines: %w", opts.TailLines, err)
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return err
		}
	}
	err = read(ctx, f, opts, newPrinter(w, opts), running)
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

func read(ctx context.Context, f io.Reader, opts Options, p *printer, running Running) error {
	lr := &lineReader{br: bufio.NewReaderSize(f, 64<<10)}
	if err := lr.drain(p); err != nil {
		return err
	}
	poll := opts.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for opts.Follow {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		// Asked before reading, so whatever the container wrote before
		// it ended is read below.
		alive := running(ctx)
		if err := lr.drain(p); err != nil {
			return err
		}
		if !alive {
			break
		}
	}
	if err := lr.finish(p); err != nil {
		return err
	}
	p.flush()
	return nil
}

// lineReader splits a growing file into lines; bytes without their
// newline yet wait for the rest.
type lineReader struct {
	br      *bufio.Reader
	pending []byte
}

// drain prints every whole line there is now.
func (lr *lineReader) drain(p *printer) error {
	defer p.flush()
	for {
		chunk, err := lr.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, io.EOF):
			lr.pending = append(lr.pending, chunk...)
			if errors.Is(err, io.EOF) {
				return nil
			}
			continue
		case err != nil:
			return fmt.Errorf("read the container's log: %w", err)
		}
		line := chunk[:len(chunk)-1]
		if len(lr.pending) > 0 {
			line = append(lr.pending, line...)
			lr.pending = lr.pending[:0]
		}
		if err := printEntry(p, line); err != nil {
			return err
		}
	}
}

// finish prints what is left once the file will not grow any more.
func (lr *lineReader) finish(p *printer) error {
	if len(lr.pending) > 0 {
		line := lr.pending
		lr.pending = nil
		if err := printEntry(p, line); err != nil {
			return err
		}
	}
	return p.finish()
}

// printEntry prints one line of the file; lines that are not CRI entries
// are skipped, as Kubernetes does.
func printEntry(p *printer, line []byte) error {
	e, err := ParseEntry(line)
	if err != nil {
		return nil
	}
	return p.entry(e)
}
