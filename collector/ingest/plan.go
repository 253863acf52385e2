package ingest

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

var (
	measurementType = reflect.TypeFor[measurement.Measurement]()
	timeType        = reflect.TypeFor[time.Time]()
	stringMapType   = reflect.TypeFor[map[string]string]()
	// measurementPlan is compiled once, on first use: it only depends on the type.
	measurementPlan = sync.OnceValue(func() *plan { return compile(measurementType) })
)

// planKind is what the decoder does with one Go type.
type planKind uint8

const (
	pString planKind = iota
	pBool
	pInt
	pUint
	pFloat
	pTime
	pStruct
	pMap
	pSlice
	pPointer
	pUnsupported
)

// plan says how to decode JSON into one Go type: compiled once per type from reflection.
type plan struct {
	kind   planKind
	t      reflect.Type
	elem   *plan             // pointer, slice and map elements
	empty  reflect.Value     // a slice's empty, non-nil value (capacity 0: appends copy)
	fields map[string]*field // struct members by exact JSON name
	order  []*field          // the same in encoding/json's order: the likely order of keys
	n      int               // number of fields
}

// field is one JSON member of a struct, with the fields of embedded structs promoted.
type field struct {
	name  string
	index []int // reflect.Value.FieldByIndex
	ord   int   // 0..n-1, for duplicate detection
	rank  int   // index in plan.order
	p     *plan
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// compile returns the plan of t. Types encoding/json would treat specially (custom
// unmarshalers other than time.Time's, []byte, interfaces) are unsupported: decoding
// them is an error, never a silent difference from encoding/json.
func compile(t reflect.Type) *plan {
	return compileInto(t, map[reflect.Type]*plan{})
}

func compileInto(t reflect.Type, done map[reflect.Type]*plan) *plan {
	if p := done[t]; p != nil {
		return p
	}
	p := &plan{t: t}
	done[t] = p
	custom := t != timeType && (t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler))
	switch k := t.Kind(); {
	case t == timeType:
		p.kind = pTime
	case k == reflect.Pointer:
		p.kind, p.elem = pPointer, compileInto(t.Elem(), done)
	case custom:
		p.kind = pUnsupported
	case k == reflect.String:
		p.kind = pString
	case k == reflect.Bool:
		p.kind = pBool
	case k >= reflect.Int && k <= reflect.Int64:
		p.kind = pInt
	case k >= reflect.Uint && k <= reflect.Uint64:
		p.kind = pUint
	case k == reflect.Float32 || k == reflect.Float64:
		p.kind = pFloat
	case k == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		p.kind, p.elem = pSlice, compileInto(t.Elem(), done)
		p.empty = reflect.MakeSlice(t, 0, 0)
	case k == reflect.Map && t.Key().Kind() == reflect.String:
		p.kind, p.elem = pMap, compileInto(t.Elem(), done)
	case k == reflect.Struct:
		p.kind, p.fields = pStruct, map[string]*field{}
		for _, f := range fieldsOf(t, nil) {
			f.ord = p.n
			f.p = compileInto(t.FieldByIndex(f.index).Type, done)
			p.fields[f.name] = f
			p.n++
		}
		p.order = slices.Collect(maps.Values(p.fields))
		slices.SortFunc(p.order, func(a, b *field) int { return slices.Compare(a.index, b.index) })
		for i, f := range p.order {
			f.rank = i
		}
	default:
		p.kind = pUnsupported
	}
	return p
}

// fieldsOf lists the JSON members of struct t (reached through index), with the fields
// of embedded structs without a JSON name promoted unless an outer field has their name,
// as encoding/json does.
func fieldsOf(t reflect.Type, index []int) []*field {
	var out []*field
	names := map[string]bool{}
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		idx := append(index[:len(index):len(index)], i)
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			f.Index = idx
			embedded = append(embedded, f)
		default:
			if name == "" {
				name = f.Name
			}
			names[name] = true
			out = append(out, &field{name: name, index: idx})
		}
	}
	for _, e := range embedded {
		for _, f := range fieldsOf(e.Type, e.Index) {
			if !names[f.name] {
				names[f.name] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// want names the JSON form of t.
func want(t reflect.Type) string {
	if t == timeType {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return want(t.Elem()) + " or null"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an unsigned integer"
	}
	return "a number"
}

// at prefixes an error message with path, when there is one.
func at(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// segment is one step of the path to a value: a struct member, an array index or a map
// key. Paths are rendered only for error messages.
type segment struct {
	key   string
	index int
	kind  uint8 // segField, segIndex, segKey
}

const (
	segField uint8 = iota
	segIndex
	segKey
)

// renderPath renders a path as in `dns[0].answers[1].ttl` or `http[0].headers["Server"]`.
func renderPath(path []segment) string {
	var b strings.Builder
	for _, s := range path {
		switch s.kind {
		case segField:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		case segIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		case segKey:
			fmt.Fprintf(&b, "[%q]", clip(s.key))
		}
	}
	return b.String()
}
