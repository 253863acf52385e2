package store

import (
	"slices"
	"strconv"
	"time"
)

// lineSink appends points as line protocol, byte for byte what the client library's
// encoder (github.com/influxdata/line-protocol, nanosecond precision, fields in the
// order given) makes of the same write.Points: tags and field keys escape tab, newline,
// form feed, carriage return, comma, space and equals sign; names all of those but the
// equals sign; string fields tab, newline, form feed, carriage return, quote and
// backslash. NaN and infinite floats cannot occur: contentOf refuses them first.
type lineSink struct {
	buf    []byte
	points int
	open   bool   // a point was started and not ended
	fields int    // fields of the open point
	ts     []byte // " <ns>\n" of the open point
}

func (l *lineSink) point(name string, ts time.Time, tags []tag) {
	l.end()
	l.buf = appendEscaped(l.buf, name, false)
	for _, t := range tags {
		l.buf = append(l.buf, ',')
		l.buf = appendEscaped(l.buf, t.k, true)
		l.buf = append(l.buf, '=')
		l.buf = appendEscaped(l.buf, t.v, true)
	}
	l.buf = append(l.buf, ' ')
	l.ts = append(l.ts[:0], ' ')
	if !ts.IsZero() {
		l.ts = strconv.AppendInt(l.ts, ts.UnixNano(), 10)
	} else {
		l.ts = l.ts[:0]
	}
	l.ts = append(l.ts, '\n')
	l.open, l.fields = true, 0
	l.points++
}

// end finishes the open point with its timestamp.
func (l *lineSink) end() {
	if l.open {
		l.buf = append(l.buf, l.ts...)
		l.open = false
	}
}

func (l *lineSink) key(k string) {
	if l.fields > 0 {
		l.buf = append(l.buf, ',')
	}
	l.fields++
	l.buf = appendEscaped(l.buf, k, true)
	l.buf = append(l.buf, '=')
}

// stringEscape gives, for each byte a string field escapes, the letter after the
// backslash; 0 for the others.
var stringEscape = [256]byte{'\t': 't', '\n': 'n', '\f': 'f', '\r': 'r', '"': '"', '\\': '\\'}

func (l *lineSink) str(k, v string) {
	l.key(k)
	l.buf = appendStringField(l.buf, v)
}

func (l *lineSink) bytes(k string, v []byte) {
	l.key(k)
	l.buf = appendStringField(l.buf, v)
}

// appendStringField appends v quoted and escaped as a string field value. It writes byte
// by byte into room for the worst case (every byte escaped): JSON escapes a quote every
// few bytes, and copying the runs between them cost more than this loop.
func appendStringField[T string | []byte](buf []byte, v T) []byte {
	n := len(buf)
	buf = slices.Grow(buf, 2*len(v)+2)[:n+2*len(v)+2]
	out := buf[n:]
	out[0] = '"'
	j := 1
	for i := 0; i < len(v); i++ {
		c := v[i]
		if e := stringEscape[c]; e != 0 {
			out[j], out[j+1] = '\\', e
			j += 2
			continue
		}
		out[j] = c
		j++
	}
	out[j] = '"'
	return buf[:n+j+1]
}

func (l *lineSink) integer(k string, v int64) {
	l.key(k)
	l.buf = append(strconv.AppendInt(l.buf, v, 10), 'i')
}

func (l *lineSink) float(k string, v float64) {
	l.key(k)
	l.buf = strconv.AppendFloat(l.buf, v, 'f', -1, 64)
}

func (l *lineSink) boolean(k string, v bool) {
	l.key(k)
	l.buf = strconv.AppendBool(l.buf, v)
}

// nameEscape and keyEscape mark the bytes appendEscaped escapes in a name and in a tag
// key, tag value or field key.
var (
	nameEscape = [256]bool{'\t': true, '\n': true, '\f': true, '\r': true, ',': true, ' ': true}
	keyEscape  = [256]bool{'\t': true, '\n': true, '\f': true, '\r': true, ',': true, ' ': true, '=': true}
)

// appendEscaped appends s escaped as a name (equals false) or as a tag key, tag value or
// field key (equals true).
func appendEscaped(buf []byte, s string, equals bool) []byte {
	escapes := &nameEscape
	if equals {
		escapes = &keyEscape
	}
	i := 0
	for i < len(s) && !escapes[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		return append(buf, s...)
	}
	buf = append(buf, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t':
			buf = append(buf, `\t`...)
		case '\n':
			buf = append(buf, `\n`...)
		case '\f':
			buf = append(buf, `\f`...)
		case '\r':
			buf = append(buf, `\r`...)
		case ',', ' ':
			buf = append(buf, '\\', c)
		case '=':
			if equals {
				buf = append(buf, '\\')
			}
			buf = append(buf, c)
		default:
			buf = append(buf, c)
		}
	}
	return buf
}
