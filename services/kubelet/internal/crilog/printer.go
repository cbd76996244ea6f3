package crilog

import (
	"errors"
	"io"
	"time"
)

// TimeFormat is how --timestamps prints an entry's time, as Kubernetes
// does: RFC 3339 with nanoseconds always nine digits.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// errLimit ends a read that reached Options.LimitBytes.
var errLimit = errors.New("log byte limit reached")

// printer turns entries into the lines a client sees: partial entries
// joined per stream, lines before Since left out, the timestamp in front
// if asked, the output cut at LimitBytes.
type printer struct {
	w       io.Writer
	opts    Options
	partial map[string]*pendingLine // by stream
	written int64
}

type pendingLine struct {
	time time.Time
	text []byte
}

func newPrinter(w io.Writer, opts Options) *printer {
	return &printer{w: w, opts: opts, partial: map[string]*pendingLine{}}
}

// entry takes the next entry of the file.
func (p *printer) entry(e Entry) error {
	pl := p.partial[e.Stream]
	if e.Partial {
		if pl == nil {
			pl = &pendingLine{time: e.Time}
			p.partial[e.Stream] = pl
		}
		pl.text = append(pl.text, e.Text...)
		return nil
	}
	if pl == nil {
		return p.line(e.Time, e.Text)
	}
	delete(p.partial, e.Stream)
	return p.line(pl.time, append(pl.text, e.Text...))
}

// finish prints the lines whose end never came, without a newline, as
// Kubernetes does (a container's last `echo -n` stays as it wrote it).
func (p *printer) finish() error {
	for _, stream := range []string{"stdout", "stderr"} {
		if pl := p.partial[stream]; pl != nil {
			delete(p.partial, stream)
			if err := p.write(pl.time, pl.text, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *printer) line(t time.Time, text []byte) error { return p.write(t, text, true) }

func (p *printer) write(t time.Time, text []byte, newline bool) error {
	if !p.opts.Since.IsZero() && t.Before(p.opts.Since) {
		return nil
	}
	b := make([]byte, 0, len(TimeFormat)+len(text)+2)
	if p.opts.Timestamps {
		b = append(t.AppendFormat(b, TimeFormat), ' ')
	}
	b = append(b, text...)
	if newline {
		b = append(b, '\n')
	}
	limited := false
	if p.opts.LimitBytes > 0 && p.written+int64(len(b)) >= p.opts.LimitBytes {
		b, limited = b[:p.opts.LimitBytes-p.written], true
	}
	n, err := p.w.Write(b)
	p.written += int64(n)
	if err != nil {
		return err
	}
	if limited {
		return errLimit
	}
	return nil
}

// flush pushes what was written to the client, where the writer can.
func (p *printer) flush() {
	if f, ok := p.w.(interface{ Flush() }); ok {
		f.Flush()
	}
}
