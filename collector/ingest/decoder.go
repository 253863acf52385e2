package ingest

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// decoder reads one JSON document, or a batch of them (DecodeBatch).
type decoder struct {
	b []byte
	// w, when decoding, is what decoded strings point into. Either a copy of b, where
	// each string's content is written at most once, over its own quoted form, and never
	// again; or b itself (ro), which is never written: a string with escapes is then
	// allocated on its own.
	w    []byte
	ro   bool
	i    int
	path []segment
	buf  []byte // scratch for unquoting
	sv   string // scratch for map[string]string values
}

// decoders keeps decoders for reuse: their scratch (path, buffers) then needs no
// allocation from one document to the next.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// release returns d to decoders, holding on to nothing of the document.
func (d *decoder) release() {
	if cap(d.buf) > 1<<16 {
		d.buf = nil
	}
	clear(d.path[:cap(d.path)]) // map keys point into w
	d.b, d.w, d.ro, d.path, d.sv = nil, nil, false, d.path[:0], ""
	decoders.Put(d)
}

func (d *decoder) syntax() error {
	return &syntaxError{path: renderPath(d.path), off: d.i}
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// value decodes the next JSON value into v according to p.
func (d *decoder) value(p *plan, v reflect.Value) error {
	d.space()
	if d.i >= len(d.b) {
		return d.syntax()
	}
	orig := p
	c := d.b[d.i]
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		switch p.kind {
		case pPointer, pSlice, pMap:
			v.SetZero()
			return nil
		}
		return d.mismatch("null", orig)
	}
	if p.kind == pPointer {
		if v.IsNil() {
			v.Set(reflect.New(p.t.Elem()))
		}
		v, p = v.Elem(), p.elem
	}
	switch c {
	case '{':
		switch p.kind {
		case pStruct:
			return d.object(p, v)
		case pMap:
			return d.mapValues(p, v)
		}
		return d.mismatch("an object", orig)
	case '[':
		if p.kind == pSlice {
			return d.array(p, v)
		}
		return d.mismatch("an array", orig)
	case '"':
		start, end, flags, err := d.str()
		if err != nil {
			return err
		}
		switch p.kind {
		case pString:
			v.SetString(d.unquote(start, end, flags))
			return nil
		case pTime:
			t := v.Addr().Interface().(*time.Time)
			if flags&strEscaped != 0 || t.UnmarshalJSON(d.b[start-1:end+1]) != nil {
				return fmt.Errorf("%s%q is not an RFC 3339 time", at(renderPath(d.path)), clip(d.unquote(start, end, flags)))
			}
			return nil
		}
		return d.mismatch("a string", orig)
	case 't', 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if err := d.literal(lit); err != nil {
			return err
		}
		if p.kind == pBool {
			v.SetBool(c == 't')
			return nil
		}
		return d.mismatch("a boolean", orig)
	}
	if c == '-' || c >= '0' && c <= '9' {
		start := d.i
		if err := d.number(); err != nil {
			return err
		}
		return d.setNumber(p, orig, v, d.b[start:d.i])
	}
	return d.syntax()
}

// literal consumes lit (true, false, null).
func (d *decoder) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if d.i >= len(d.b) || d.b[d.i] != lit[k] {
			return d.syntax()
		}
		d.i++
	}
	return nil
}

// number consumes a JSON number.
func (d *decoder) number() error {
	b := d.b
	if b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(b) && b[d.i] == '0':
		d.i++
	case d.i < len(b) && b[d.i] >= '1' && b[d.i] <= '9':
		d.digits()
	default:
		return d.syntax()
	}
	if d.i < len(b) && b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return d.syntax()
		}
	}
	if d.i < len(b) && (b[d.i] == 'e' || b[d.i] == 'E') {
		d.i++
		if d.i < len(b) && (b[d.i] == '+' || b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return d.syntax()
		}
	}
	return nil
}

func (d *decoder) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// setNumber stores the JSON number lit into v, checking that it fits.
func (d *decoder) setNumber(p, orig *plan, v reflect.Value, lit []byte) error {
	var err error
	kind := "an integer"
	switch p.kind {
	case pInt:
		var n int64
		if n, err = strconv.ParseInt(string(lit), 10, p.t.Bits()); err == nil {
			v.SetInt(n)
			return nil
		}
	case pUint:
		kind = "an unsigned integer"
		var n uint64
		if n, err = strconv.ParseUint(string(lit), 10, p.t.Bits()); err == nil {
			v.SetUint(n)
			return nil
		}
	case pFloat:
		kind = "a number"
		var f float64
		if f, err = strconv.ParseFloat(string(lit), p.t.Bits()); err == nil {
			v.SetFloat(f)
			return nil
		}
	default:
		return d.mismatch("a number", orig)
	}
	s := clip(string(lit))
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%s%s is out of range for %s", at(renderPath(d.path)), s, kind)
	}
	return fmt.Errorf("%s%s is not %s", at(renderPath(d.path)), s, kind)
}

// mismatch describes a JSON value of the wrong type.
func (d *decoder) mismatch(got string, p *plan) error {
	if p.kind == pUnsupported || p.kind == pPointer && p.elem.kind == pUnsupported {
		return fmt.Errorf("%scannot check a %s", at(renderPath(d.path)), p.t)
	}
	if len(d.path) == 0 {
		return fmt.Errorf("want a JSON object, got %s", got)
	}
	return fmt.Errorf("%s: cannot be %s (want %s)", renderPath(d.path), got, want(p.t))
}

// Flags of a scanned string.
const (
	strEscaped = 1 << iota // has backslash escapes
	strHigh                // has bytes ≥ 0x80
)

// str consumes a JSON string; b[start:end] is its content between the quotes.
func (d *decoder) str() (start, end int, flags uint8, err error) {
	b := d.b
	i := d.i + 1
	start = i
	for i < len(b) {
		for i < len(b) && plain[b[i]] { // the common case, one table lookup a byte
			i++
		}
		if i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return start, i, flags, nil
		case c == '\\':
			flags |= strEscaped
			i++
			if i >= len(b) {
				d.i = i
				return 0, 0, 0, d.syntax()
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(b) || !isHex(b[i]) {
						d.i = i
						return 0, 0, 0, d.syntax()
					}
					i++
				}
			default:
				d.i = i
				return 0, 0, 0, d.syntax()
			}
		case c < 0x20:
			d.i = i
			return 0, 0, 0, d.syntax()
		default:
			if c >= utf8.RuneSelf {
				flags |= strHigh
			}
			i++
		}
	}
	d.i = i
	return 0, 0, 0, d.syntax()
}

// plain marks the bytes a JSON string holds as they are: printable ASCII but the quote
// and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
