package store_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// encodingJSON is encoding/json without HTML escaping: what the raw field must hold.
func encodingJSON(m *measurement.Measurement) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// TestRawJSONMatches: the raw field's JSON is byte for byte encoding/json's, for the test
// measurements and for thousands of random ones (every field filled at random: strings
// with control characters, quotes, HTML, invalid UTF-8, U+2028; floats at the format's
// cut-offs; nil and empty lists and maps; times in other zones), and fails as it does.
func TestRawJSONMatches(t *testing.T) {
	ms := []*measurement.Measurement{full("example.com", t0), measurementtest.Simple("example.com", t0), {}}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		m := new(measurement.Measurement)
		fill(r, reflect.ValueOf(m).Elem(), 0)
		ms = append(ms, m)
	}
	nan, far := measurementtest.Simple("example.com", t0), measurementtest.Simple("example.com", t0)
	nan.RuntimeMS = math.Inf(-1)
	far.StartedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	ms = append(ms, nan, far)
	for i, m := range ms {
		got, err := store.EncodeRawJSON(m)
		want, wantErr := encodingJSON(m)
		if got != want || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("measurement %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, wantErr)
		}
	}
}

var (
	runes  = []rune("aZ09 \"\\/<>&\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é☂😀\ufffd")
	floats = []float64{0, math.Copysign(0, -1), 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 999999999999999999999, 123.456, 0.1, 5e-324,
		math.MaxFloat64, -1.5e-9, 1234.5678}
)

// fill sets v to a random value.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		zones := []*time.Location{time.UTC, time.FixedZone("WIB", 7*3600), time.FixedZone("X", -90*60)}
		v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])))
		return
	}
	switch v.Kind() {
	case reflect.String:
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		s := b.String()
		if r.IntN(8) == 0 {
			s += "\xff\xc3" // invalid UTF-8
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint(uint64(r.Uint32()) * uint64(r.IntN(2)))
	case reflect.Float64:
		f := floats[r.IntN(len(floats))]
		if r.IntN(3) == 0 {
			f = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		}
		v.SetFloat(f)
	case reflect.Pointer:
		if depth < 3 && r.IntN(2) == 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(r, v.Elem(), depth+1)
		}
	case reflect.Slice:
		switch n := r.IntN(4); {
		case n == 0: // nil
		case depth >= 3 || n == 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			v.Set(reflect.MakeSlice(v.Type(), n-1, n-1))
			for i := range v.Len() {
				fill(r, v.Index(i), depth+1)
			}
		}
	case reflect.Map:
		switch n := r.IntN(4); n {
		case 0:
		default:
			v.Set(reflect.MakeMap(v.Type()))
			for range n - 1 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(r, k, depth+1)
				fill(r, e, depth+1)
				v.SetMapIndex(k, e)
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth)
			}
		}
	}
}
