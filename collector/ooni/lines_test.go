package ooni

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// readAll returns what Next gives for each line: the line, or "!" and the error.
func readAll(t *testing.T, r io.Reader, max int) []string {
	t.Helper()
	l, err := NewLines(r, max)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		line, n, err := l.Next()
		switch {
		case errors.Is(err, io.EOF):
			return out
		case err != nil:
			out = append(out, fmt.Sprintf("%d!%v", n, err))
		default:
			out = append(out, fmt.Sprintf("%d:%s", n, line))
		}
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		max  int
		want []string
	}{
		{"plain", []byte("{\"a\":1}\n{\"b\":2}\n"), 0, []string{`1:{"a":1}`, `2:{"b":2}`}},
		{"CRLF, blank lines, no final newline", []byte("{}\r\n\r\n  \n{\"c\":3}"), 0, []string{`1:{}`, `4:{"c":3}`}},
		{"byte order mark", []byte("\xef\xbb\xbf{}\n"), 0, []string{`1:{}`}},
		{"gzip", gzipped(t, "{\"a\":1}\n\n{\"b\":2}\n"), 0, []string{`1:{"a":1}`, `3:{"b":2}`}},
		{"a line over the limit is skipped, the next read", []byte("12345\n" + strings.Repeat("x", 100) + "\n123\n"), 8,
			[]string{`1:12345`, `2!line too long: longer than 8 bytes`, `3:123`}},
		{"the last line over the limit", []byte("1\n" + strings.Repeat("y", 50)), 8, []string{`1:1`, `2!line too long: longer than 8 bytes`}},
		{"exactly the limit", []byte("12345678\n"), 8, []string{`1:12345678`}},
		{"empty", nil, 0, nil},
	} {
		got := readAll(t, bytes.NewReader(tc.in), tc.max)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLinesCorruptGzip: a cut gzip stream ends the input with an error, not as if it
// had ended there.
func TestLinesCorruptGzip(t *testing.T) {
	z := gzipped(t, strings.Repeat("{\"a\":1}\n", 1000))
	z = z[:len(z)/2]
	l, err := NewLines(bytes.NewReader(z), 0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		_, _, err = l.Next()
		if err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after %d lines: %v, want unexpected EOF", n, err)
	}
}

// TestLinesBoundedMemory streams lines from a generator through a pipe, one of them far
// longer than the limit: the reader never holds more than the limit (plus its read
// buffer), skips the long line as one bad line and reads every other.
func TestLinesBoundedMemory(t *testing.T) {
	const limit, lines, huge = 64 << 10, 2000, 64 << 20
	pr, pw := io.Pipe()
	go func() {
		line := []byte(strings.Repeat("a", 1000) + "\n")
		chunk := bytes.Repeat([]byte("b"), 1<<20)
		for i := range lines {
			if i == lines/2 {
				for range huge / len(chunk) {
					_, _ = pw.Write(chunk)
				}
				_, _ = pw.Write([]byte("\n"))
			}
			_, _ = pw.Write(line)
		}
		pw.Close()
	}()
	l, err := NewLines(pr, limit)
	if err != nil {
		t.Fatal(err)
	}
	var good, bad, biggest int
	for {
		line, _, err := l.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		biggest = max(biggest, cap(l.buf), len(line))
		if errors.Is(err, ErrLineTooLong) {
			bad++
		} else if err != nil {
			t.Fatal(err)
		} else {
			good++
		}
	}
	if good != lines || bad != 1 {
		t.Errorf("%d good and %d bad lines, want %d and 1", good, bad, lines)
	}
	if biggest > 2*limit {
		t.Errorf("held %d bytes for one line, limit %d", biggest, limit)
	}
}
