package store

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// The raw field holds a measurement's JSON as the probe submitted it (Item.Raw). An item
// without submitted bytes (tests, tools) is stored as encoding/json's Encoder writes it
// without HTML escaping; appendJSON writes the same bytes faster, from a plan compiled once
// for the Measurement type; what the plan does not cover (and NaN, infinities, times RFC
// 3339 cannot hold: errors) goes through encoding/json itself. TestRawJSONMatches checks
// the bytes agree.

var (
	timeType        = reflect.TypeFor[time.Time]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	measurementPlan = sync.OnceValue(func() *encPlan {
		return compileEnc(reflect.TypeFor[measurement.Measurement](), map[reflect.Type]*encPlan{})
	})
)

// errFallback says the value needs encoding/json.
var errFallback = errors.New("not covered by the plan")

type encKind uint8

const (
	eString encKind = iota
	eBool
	eInt
	eUint
	eFloat
	eTime
	eStruct
	eMap
	eSlice
	ePointer
	eUnsupported
)

// encPlan says how to encode one Go type.
type encPlan struct {
	kind   encKind
	bits   int
	elem   *encPlan   // pointer, slice, map
	fields []encField // struct, in encoding/json's order
}

type encField struct {
	key       string // `"name":`
	index     []int
	omitEmpty bool
	p         *encPlan
}

func compileEnc(t reflect.Type, done map[reflect.Type]*encPlan) *encPlan {
	if p := done[t]; p != nil {
		return p
	}
	p := &encPlan{}
	done[t] = p
	custom := t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
	switch k := t.Kind(); {
	case t == timeType:
		p.kind = eTime
	case custom:
		p.kind = eUnsupported
	case k == reflect.String:
		p.kind = eString
	case k == reflect.Bool:
		p.kind = eBool
	case k >= reflect.Int && k <= reflect.Int64:
		p.kind = eInt
	case k >= reflect.Uint && k <= reflect.Uint64 && k != reflect.Uintptr:
		p.kind = eUint
	case k == reflect.Float32 || k == reflect.Float64:
		p.kind, p.bits = eFloat, t.Bits()
	case k == reflect.Pointer:
		p.kind, p.elem = ePointer, compileEnc(t.Elem(), done)
	case k == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		p.kind, p.elem = eSlice, compileEnc(t.Elem(), done)
	case k == reflect.Map && t.Key().Kind() == reflect.String:
		p.kind, p.elem = eMap, compileEnc(t.Elem(), done)
	case k == reflect.Struct:
		p.kind = eStruct
		if !encFields(t, nil, map[string]bool{}, &p.fields, done) {
			p.kind, p.fields = eUnsupported, nil
		}
	default:
		p.kind = eUnsupported
	}
	return p
}

// encFields appends the JSON members of struct t in order, embedded structs without a
// JSON name inline. A name given twice (encoding/json's dominance rules) or a tag option
// other than omitempty makes the struct unsupported: false.
func encFields(t reflect.Type, index []int, names map[string]bool, out *[]encField, done map[reflect.Type]*encPlan) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(index[:len(index):len(index)], i)
		switch {
		case tag == "-" || !f.IsExported() && !f.Anonymous:
			continue
		case f.Anonymous && name == "":
			if f.Type.Kind() != reflect.Struct || !encFields(f.Type, idx, names, out, done) {
				return false
			}
			continue
		case opts != "" && opts != "omitempty":
			return false
		}
		if name == "" {
			name = f.Name
		}
		if names[name] {
			return false
		}
		names[name] = true
		*out = append(*out, encField{key: string(appendString(nil, name)) + ":", index: idx,
			omitEmpty: opts == "omitempty", p: compileEnc(f.Type, done)})
	}
	return true
}

// rawJSON encodes m into buf without HTML escaping (the field is read by programs, not
// browsers); the result is valid until buf is used again.
func rawJSON(m *measurement.Measurement, buf *bytes.Buffer) ([]byte, error) {
	buf.Reset()
	b, err := appendJSON(buf.AvailableBuffer(), measurementPlan(), reflect.ValueOf(m).Elem())
	if err == nil {
		buf.Write(b) // b is buf's own storage when it fitted: no copy then
		return buf.Bytes(), nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// appendJSON appends v as JSON.
func appendJSON(b []byte, p *encPlan, v reflect.Value) ([]byte, error) {
	switch p.kind {
	case eString:
		return appendString(b, v.String()), nil
	case eBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case eInt:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case eUint:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case eFloat:
		return appendFloat(b, v.Float(), p.bits)
	case eTime:
		var t time.Time
		if v.CanAddr() {
			t = *v.Addr().Interface().(*time.Time) // no allocation
		} else {
			t = v.Interface().(time.Time)
		}
		b = append(b, '"')
		b, err := t.AppendText(b) // RFC 3339: no quote or backslash
		if err != nil {
			return nil, errFallback
		}
		return append(b, '"'), nil
	case ePointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendJSON(b, p.elem, v.Elem())
	case eSlice:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, p.elem, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case eMap:
		return appendMap(b, p, v)
	case eStruct:
		b = append(b, '{')
		first := true
		for _, f := range p.fields {
			fv := v.Field(f.index[0])
			if len(f.index) > 1 {
				fv = v.FieldByIndex(f.index)
			}
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, f.key...)
			var err error
			if b, err = appendJSON(b, f.p, fv); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, errFallback
}

func appendMap(b []byte, p *encPlan, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	if v.Type() == stringMapType && v.CanInterface() {
		return appendStringMap(b, v.Interface().(map[string]string)), nil
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		var err error
		if b, err = appendJSON(b, p.elem, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

var stringMapType = reflect.TypeFor[map[string]string]()

// appendStringMap is appendMap for HTTP headers, without reflection: keys sorted as
// encoding/json sorts them, by their bytes.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(appendString(b, k), ':'), m[k])
	}
	return append(b, '}')
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}

// appendFloat formats f as encoding/json does (like ES6: exponents only for very small
// and very large numbers, without padding).
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errFallback // encoding/json's error
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' { // e-09 to e-9
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// jsonPlain marks the ASCII bytes a JSON string holds as they are (HTML not escaped).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString quotes s as encoding/json does without HTML escaping: short escapes for
// quote, backslash, \b \f \n \r \t; \u00XX for other control characters; \ufffd for
// invalid UTF-8; U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(append(b, s[start:i]...), '\\')
			switch c {
			case '\\', '"':
				b = append(b, c)
			case '\b':
				b = append(b, 'b')
			case '\f':
				b = append(b, 'f')
			case '\n':
				b = append(b, 'n')
			case '\r':
				b = append(b, 'r')
			case '\t':
				b = append(b, 't')
			default:
				b = append(b, 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), "\\ufffd"...)
		case c == '\u2028' || c == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
