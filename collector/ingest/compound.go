package ingest

import (
	"fmt"
	"reflect"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A syntax error in an object or an array is reported at the path encoding/json's
// Decoder.Token walk is at when it meets it (the reference decoder walks so, and tests
// compare the messages): a problem with a key, a separator or the closing bracket of an
// object is reported at the object's path, one between a key and its value at the
// member's path, and one after an array element at the next element's path.

// object decodes the members of a JSON object into struct v; d.i is at '{'.
func (d *decoder) object(p *plan, v reflect.Value) error {
	d.i++
	var seen uint64
	var seenMore []bool
	if p.n > 64 {
		seenMore = make([]bool, p.n)
	}
	next := 0 // index in p.order of the likely next key: encoders write fields in order
	for first := true; ; first = false {
		start, end, flags, done, err := d.nextKey(first)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		var f *field
		switch {
		case flags == 0 && next < len(p.order) && p.order[next].name == string(d.b[start:end]): // no allocation
			f = p.order[next]
		case flags == 0:
			f = p.fields[string(d.b[start:end])]
		default:
			f = p.fields[d.unquote(start, end, flags)]
		}
		if f == nil {
			return fmt.Errorf("%sunknown field %q", at(renderPath(d.path)), clip(d.unquote(start, end, flags)))
		}
		next = f.rank + 1
		d.path = append(d.path, segment{key: f.name})
		if dup := seenField(&seen, seenMore, f.ord); dup {
			return fmt.Errorf("%s: given twice", renderPath(d.path))
		}
		if err := d.colon(); err != nil {
			return err
		}
		fv := v.Field(f.index[0])
		if len(f.index) > 1 {
			fv = v.FieldByIndex(f.index)
		}
		if err := d.value(f.p, fv); err != nil {
			return err
		}
		d.path = d.path[:len(d.path)-1]
	}
}

// seenField marks field ord as seen and says whether it already was.
func seenField(seen *uint64, more []bool, ord int) bool {
	if more != nil {
		dup := more[ord]
		more[ord] = true
		return dup
	}
	bit := uint64(1) << ord
	dup := *seen&bit != 0
	*seen |= bit
	return dup
}

func (d *decoder) colon() error {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return d.syntax()
	}
	d.i++
	return nil
}

// mapValues decodes the members of a JSON object into map v; d.i is at '{'.
func (d *decoder) mapValues(p *plan, v reflect.Value) error {
	d.i++
	if v.IsNil() {
		v.Set(reflect.MakeMap(p.t))
	}
	var strs map[string]string
	if p.t == stringMapType {
		strs = v.Interface().(map[string]string)
	}
	for first := true; ; first = false {
		start, end, flags, done, err := d.nextKey(first)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		k := d.unquote(start, end, flags)
		d.path = append(d.path, segment{key: k, kind: segKey})
		if strs != nil { // map[string]string without reflection
			if _, dup := strs[k]; dup {
				return fmt.Errorf("%s: given twice", renderPath(d.path))
			}
			if err := d.colon(); err != nil {
				return err
			}
			d.sv = ""
			if err := d.value(p.elem, reflect.ValueOf(&d.sv).Elem()); err != nil {
				return err
			}
			strs[k] = d.sv
			d.path = d.path[:len(d.path)-1]
			continue
		}
		key := reflect.New(p.t.Key()).Elem()
		key.SetString(k)
		if v.MapIndex(key).IsValid() {
			return fmt.Errorf("%s: given twice", renderPath(d.path))
		}
		if err := d.colon(); err != nil {
			return err
		}
		elem := reflect.New(p.elem.t).Elem()
		if err := d.value(p.elem, elem); err != nil {
			return err
		}
		v.SetMapIndex(key, elem)
		d.path = d.path[:len(d.path)-1]
	}
}

// array decodes a JSON array into slice v; d.i is at '['. An empty array is an empty,
// non-nil slice, as with encoding/json.
func (d *decoder) array(p *plan, v reflect.Value) error {
	d.i++
	v.SetZero()
	for n := 0; ; n++ {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] == '}' {
			return d.syntax()
		}
		if d.b[d.i] == ']' {
			d.i++
			if n == 0 {
				v.Set(p.empty)
			}
			return nil
		}
		d.path = append(d.path, segment{index: n, kind: segIndex})
		if n > 0 {
			if d.b[d.i] != ',' {
				return d.syntax()
			}
			d.i++
		}
		if n == v.Cap() {
			v.Grow(max(2, n)) // in place: reflect.MakeSlice would allocate a header too
		}
		v.SetLen(n + 1)
		if err := d.value(p.elem, v.Index(n)); err != nil {
			return err
		}
		d.path = d.path[:len(d.path)-1]
	}
}

// unquote returns the content of the string d.b[start:end] scanned with flags, decoded as
// encoding/json does: escapes resolved, invalid UTF-8 and unpaired surrogates replaced by
// U+FFFD.
func (d *decoder) unquote(start, end int, flags uint8) string {
	s := d.b[start:end]
	if flags&strEscaped == 0 && (flags&strHigh == 0 || utf8.Valid(s)) {
		return d.text(start, s)
	}
	out := d.buf[:0]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(s[i+1:])
				i += 5
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:])); dec != unicode.ReplacementChar {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
				continue
			default: // '"', '\\', '/'
				out = append(out, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, unicode.ReplacementChar)
			} else {
				out = append(out, s[i:i+size]...)
			}
			i += size
		}
	}
	d.buf = out
	if !d.ro && len(out) <= end-start { // no longer than its quoted form, unless U+FFFD replaced bytes
		copy(d.w[start:end], out)
		return d.text(start, out)
	}
	return string(out)
}

// text is the string content, already in place at w[start:] (when there is a w), as a
// string.
func (d *decoder) text(start int, content []byte) string {
	if len(content) == 0 {
		return ""
	}
	if d.w == nil {
		return string(content)
	}
	return unsafe.String(&d.w[start], len(content))
}

// hex4 decodes the 4 hex digits at the start of b (the scanner checked them).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// nextKey reads an object's next key, past the comma before it (none before the first);
// done is true, and the closing brace consumed, when the object ends instead.
func (d *decoder) nextKey(first bool) (start, end int, flags uint8, done bool, err error) {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return 0, 0, 0, true, nil
	}
	if !first {
		if d.i >= len(d.b) || d.b[d.i] != ',' {
			return 0, 0, 0, false, d.syntax()
		}
		d.i++
		d.space()
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return 0, 0, 0, false, d.syntax()
	}
	start, end, flags, err = d.str()
	return start, end, flags, false, err
}
