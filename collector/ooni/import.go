package ooni

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
)

// Writer stores imported items.
type Writer interface {
	// Write stores items and says, for each, whether it was stored now (false: the store
	// had it already, with the same content). Errors are Write's of package store: a
	// *store.ConflictError names the items refused (the others are stored), an error
	// wrapping store.ErrUnavailable stores nothing for sure, any other error is about the
	// batch as a whole.
	Write(ctx context.Context, items []store.Item) (stored []bool, err error)
}

// DefaultBatch is how many measurements Import hands to the Writer at once.
const DefaultBatch = 100

// Summary counts what an import did with the lines it read.
type Summary struct {
	Read          int // non-blank lines
	Stored        int // measurements stored now
	AlreadyStored int // found stored already, identical
	Skipped       int // measurements of other OONI tests
	Bad           int // lines that could not be imported (each reported)
	// Conflicts are measurements stored before with other content (by a version of
	// Pantau that mapped or judged them otherwise); they count in Bad too.
	Conflicts int
}

// Add adds o's counts to s.
func (s *Summary) Add(o Summary) {
	s.Read += o.Read
	s.Stored += o.Stored
	s.AlreadyStored += o.AlreadyStored
	s.Skipped += o.Skipped
	s.Bad += o.Bad
	s.Conflicts += o.Conflicts
}

// String is the summary line's counts.
func (s Summary) String() string {
	out := fmt.Sprintf("%d read, %d stored, %d already stored, %d skipped (not web_connectivity), %d bad",
		s.Read, s.Stored, s.AlreadyStored, s.Skipped, s.Bad)
	if s.Conflicts > 0 {
		out += fmt.Sprintf(" (%d of them stored before with other content)", s.Conflicts)
	}
	return out
}

// LineError is what went wrong with one line.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Options tune an import.
type Options struct {
	MaxLine int              // longest line; DefaultMaxLine when 0
	Batch   int              // measurements written at once; DefaultBatch when 0
	Now     func() time.Time // the receive time of the items; time.Now when nil
	// Bad is told about each bad line; Progress about the counts after each line and
	// the bytes consumed of the input so far (nil: not told).
	Bad      func(*LineError)
	Progress func(s Summary)
}

// Import reads OONI measurements from r, the input called name, maps each with mp and
// stores them with w, a batch at a time: a bad line (malformed, too long, not a valid
// measurement, or refused by the store) is reported and counted, and the import goes
// on. It stops early only when the input cannot be read any further (a corrupt gzip
// stream), when the store is unavailable (store.ErrUnavailable) or ctx ends; the
// summary then counts what was done.
func Import(ctx context.Context, r io.Reader, name string, mp *Mapper, w Writer, o Options) (Summary, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	im := &run{name: name, w: w, o: o}
	lines, err := NewLines(r, o.MaxLine)
	if err != nil {
		return im.s, fmt.Errorf("%s: %w", name, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return im.s, err
		}
		line, n, err := lines.Next()
		switch {
		case errors.Is(err, io.EOF):
			return im.s, im.flush(ctx)
		case errors.Is(err, ErrLineTooLong):
			im.s.Read++
			im.bad(n, err)
			continue
		case err != nil:
			if ferr := im.flush(ctx); ferr != nil {
				return im.s, ferr
			}
			return im.s, fmt.Errorf("%s: after line %d: %w", name, n, err)
		}
		im.s.Read++
		it, err := mp.Map(line, now())
		switch {
		case errors.Is(err, ErrSkipped):
			im.s.Skipped++
		case err != nil:
			im.bad(n, err)
		default:
			im.items, im.lines = append(im.items, it), append(im.lines, n)
		}
		if len(im.items) >= o.Batch {
			if err := im.flush(ctx); err != nil {
				return im.s, err
			}
		}
		if o.Progress != nil {
			o.Progress(im.s)
		}
	}
}

// run is one Import: its counts and the batch not yet written.
type run struct {
	name  string
	w     Writer
	o     Options
	s     Summary
	items []store.Item
	lines []int // the line of each item
}

func (im *run) bad(line int, err error) {
	im.s.Bad++
	if im.o.Bad != nil {
		im.o.Bad(&LineError{File: im.name, Line: line, Err: err})
	}
}

// flush writes the batch. When the store refuses it as a whole (not for conflicts, not
// for being unavailable), its items are written one by one, so that the refusal is
// reported for the line it is about and the others are stored.
func (im *run) flush(ctx context.Context) error {
	items, lines := im.items, im.lines
	im.items, im.lines = im.items[:0], im.lines[:0]
	if len(items) == 0 {
		return nil
	}
	stored, err := im.w.Write(ctx, items)
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrUnavailable) && len(items) > 1 {
		for i := range items {
			if err := im.write(ctx, items[i:i+1], lines[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	return im.count(items, lines, stored, err)
}

// write writes items and counts them.
func (im *run) write(ctx context.Context, items []store.Item, lines []int) error {
	stored, err := im.w.Write(ctx, items)
	return im.count(items, lines, stored, err)
}

// count counts the items of a write by its outcome; it returns the error that ends the
// import (the store being unavailable).
func (im *run) count(items []store.Item, lines []int, stored []bool, err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%s:%d: %w", im.name, lines[0], err)
	}
	refused := map[int]bool{}
	var ce *store.ConflictError
	switch {
	case errors.As(err, &ce):
		for _, c := range ce.Conflicts {
			refused[c.Index] = true
			im.s.Conflicts++
			im.bad(lines[c.Index], fmt.Errorf("measurement %s (report %s) is stored with other content (sha256 %s, this is %s): %w",
				c.ID, items[c.Index].M.Provenance.ReportID, c.Stored, c.Submitted, store.ErrConflict))
		}
	case err != nil:
		for i := range items {
			im.bad(lines[i], err)
		}
		return nil
	}
	for i := range items {
		switch {
		case refused[i]:
		case i < len(stored) && stored[i]:
			im.s.Stored++
		default:
			im.s.AlreadyStored++
		}
	}
	return nil
}
