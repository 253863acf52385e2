package ooni

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
)

// Writer stores one imported item. stored is false when the store had it already, with
// the same content.
type Writer interface {
	Write(ctx context.Context, it store.Item) (stored bool, err error)
}

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
	Now     func() time.Time // the receive time of the items; time.Now when nil
	// Bad is told about each bad line; Progress about the counts after each line and
	// the bytes consumed of the input so far (nil: not told).
	Bad      func(*LineError)
	Progress func(s Summary)
}

// Import reads OONI measurements from r, the input called name, maps each with mp and
// stores it with w, one line at a time: a bad line (malformed, too long, not a valid
// measurement, or refused by the store) is reported and counted, and the import goes
// on. It stops early only when the input cannot be read any further (a corrupt gzip
// stream), when the store is unavailable (store.ErrUnavailable) or ctx ends; the
// summary then counts what was done.
func Import(ctx context.Context, r io.Reader, name string, mp *Mapper, w Writer, o Options) (Summary, error) {
	var s Summary
	now := o.Now
	if now == nil {
		now = time.Now
	}
	bad := func(line int, err error) {
		s.Bad++
		if o.Bad != nil {
			o.Bad(&LineError{File: name, Line: line, Err: err})
		}
	}
	lines, err := NewLines(r, o.MaxLine)
	if err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		line, n, err := lines.Next()
		switch {
		case errors.Is(err, io.EOF):
			return s, nil
		case errors.Is(err, ErrLineTooLong):
			s.Read++
			bad(n, err)
			continue
		case err != nil:
			return s, fmt.Errorf("%s: after line %d: %w", name, n, err)
		}
		s.Read++
		if err := importLine(ctx, line, mp, w, now(), &s); err != nil {
			if errors.Is(err, store.ErrUnavailable) {
				return s, fmt.Errorf("%s:%d: %w", name, n, err)
			}
			bad(n, err)
		}
		if o.Progress != nil {
			o.Progress(s)
		}
	}
}

// importLine maps and stores one line, counting it in s unless it is bad (the error).
func importLine(ctx context.Context, line []byte, mp *Mapper, w Writer, now time.Time, s *Summary) error {
	it, err := mp.Map(line, now)
	switch {
	case errors.Is(err, ErrSkipped):
		s.Skipped++
		return nil
	case err != nil:
		return err
	}
	stored, err := w.Write(ctx, it)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.Conflicts++
		return fmt.Errorf("measurement %s (report %s) is stored with other content: %w", it.M.ID, it.M.Provenance.ReportID, err)
	case err != nil:
		return err
	case stored:
		s.Stored++
	default:
		s.AlreadyStored++
	}
	return nil
}
