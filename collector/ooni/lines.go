package ooni

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine bounds one OONI measurement line. OONI keeps response bodies (probes
// cap each at a few hundred KiB, and a measurement may hold ten redirects and several
// resolvers), so real lines reach a few MiB; a longer line is a bad line.
const DefaultMaxLine = 32 << 20

// ErrLineTooLong marks a line longer than the reader's limit; the reader skips it.
var ErrLineTooLong = errors.New("line too long")

// Lines reads JSON lines, plain or gzip (told by the gzip magic number), in memory
// bounded by the longest line allowed: a longer line is skipped without being held,
// and reported as ErrLineTooLong.
type Lines struct {
	br   *bufio.Reader
	max  int
	n    int // lines read so far
	buf  []byte
	gzip bool
}

// NewLines reads from r; max bounds a line (DefaultMaxLine when 0 or less).
func NewLines(r io.Reader, max int) (*Lines, error) {
	if max <= 0 {
		max = DefaultMaxLine
	}
	br := bufio.NewReaderSize(r, 64<<10)
	l := &Lines{br: br, max: max}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		l.br, l.gzip = bufio.NewReaderSize(zr, 64<<10), true
	}
	return l, nil
}

// Gzip reports whether the input is gzip-compressed.
func (l *Lines) Gzip() bool { return l.gzip }

// Next returns the next non-blank line (without its end of line, valid until the next
// call) and its number, from 1. At the end it returns io.EOF. A line over the limit
// returns its number and ErrLineTooLong; reading goes on after it. Other errors (a
// corrupt gzip stream, a read error) end the input.
func (l *Lines) Next() ([]byte, int, error) {
	for {
		line, err := l.readLine()
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			if line = bytes.TrimSpace(line); errors.Is(err, io.EOF) && len(line) > 0 {
				return line, l.n, nil // a last line without a newline
			}
			return nil, l.n, err
		}
		if err != nil {
			return nil, l.n, fmt.Errorf("%w: longer than %d bytes", err, l.max)
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line, l.n, nil
		}
	}
}

// readLine reads one line into l.buf, keeping at most max bytes: the rest of a longer
// line is read and dropped.
func (l *Lines) readLine() ([]byte, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(chunk) > 0 && l.n == 0 && len(l.buf) == 0 && !tooLong {
			chunk = trimBOM(chunk)
		}
		if !tooLong {
			if len(l.buf)+len(chunk) > l.max+1 { // +1: the newline
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			l.n++
			if tooLong {
				return nil, ErrLineTooLong
			}
			return l.buf, nil
		case errors.Is(err, io.EOF):
			if len(l.buf) > 0 || tooLong {
				l.n++
			}
			if tooLong {
				return nil, ErrLineTooLong
			}
			return l.buf, io.EOF
		default:
			return nil, err
		}
	}
}
