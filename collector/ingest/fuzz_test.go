package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// fuzzNow is the fixed clock of the fuzz tests (the seeds' started_at lie before it).
var fuzzNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// FuzzDecodeItem feeds arbitrary bytes to DecodeItem. It must never panic, must explain
// every refusal, and whatever it accepts must be valid, decode to the same value with
// plain encoding/json (the strict decoder accepts nothing json reads differently), and
// survive a second round through DecodeItem unchanged. It must also accept and refuse
// exactly what the reference decoder does (ReferenceDecodeItem), with the same messages
// for what its strict check refused. The checked-in corpus
// (testdata/fuzz/FuzzDecodeItem) holds truncated JSON, huge numbers, unicode and nested
// garbage besides these seeds.
func FuzzDecodeItem(f *testing.F) {
	good := measurementtest.JSON(f, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour)))
	for _, s := range []string{
		good, good[:len(good)/2], measurementtest.JSON(f, measurementtest.Simple("t.me", fuzzNow.Add(-time.Hour))),
		`{}`, `[]`, `null`, `{"port":1e999}`, `{"dns":[{"answers":[{"ttl":18446744073709551616}]}]}`,
		`{"domain":"\u0000"}`, `{"id":"x","id":"y"}`, `{"control":{"control":{}}}`, `{"http":[{"headers":{"a":{"b":[]}}}]}`,
		`{"ID":"x"}`, `{"started_at":"2026-13-01T00:00:00Z"}`, `{"verdict":{"evidence":[[[[[[]]]]]]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ingest.DecodeItem(b, fuzzNow)
		ref, fromCheck, refErr := ingest.ReferenceDecodeItem(b, fuzzNow)
		switch {
		case (err == nil) != (refErr == nil):
			t.Fatalf("error %v; the reference checker's %v", err, refErr)
		case err != nil && fromCheck && err.Error() != refErr.Error():
			t.Fatalf("error\n%s\nthe reference checker's\n%s", err, refErr)
		case err == nil && !reflect.DeepEqual(m, ref):
			t.Fatalf("the reference checker decodes it differently:\n%+v\n%+v", *ref, *m)
		}
		if err != nil {
			if m != nil || err.Error() == "" {
				t.Fatalf("error %q with measurement %v", err, m)
			}
			return
		}
		if err := m.Validate(fuzzNow); err != nil {
			t.Fatalf("accepted an invalid measurement: %v", err)
		}
		var plain measurement.Measurement
		if err := json.Unmarshal(b, &plain); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		plain.Normalise()
		if !reflect.DeepEqual(&plain, m) {
			t.Fatalf("encoding/json reads it differently:\n%+v\n%+v", plain, *m)
		}
		again, err := ingest.DecodeItem([]byte(measurementtest.JSON(t, m)), fuzzNow)
		if err != nil {
			t.Fatalf("re-encoded measurement refused: %v", err)
		}
		if measurementtest.JSON(t, again) != measurementtest.JSON(t, m) {
			t.Fatalf("second round differs:\n%s\n%s", measurementtest.JSON(t, again), measurementtest.JSON(t, m))
		}
	})
}

// FuzzDecodeBatch feeds arbitrary bodies to DecodeBatch: it must never panic, never
// return more items than the limit, refuse exactly the batches encoding/json refuses,
// with the same errors, and give each item's result as DecodeItem does for the item
// alone (checkDecodeBatch). The checked-in corpus (testdata/fuzz/FuzzDecodeBatch) holds
// malformed, nested and unicode batches besides these seeds.
func FuzzDecodeBatch(f *testing.F) {
	good := measurementtest.JSON(f, measurementtest.Simple("example.com", fuzzNow.Add(-time.Hour)))
	for _, s := range []string{
		"[" + good + "," + good + "]", good + "\n" + good + "\n", "[", "]", "[]", "[]]", "[1,2,3,4,5]", "{}{}{}",
		"[{}]garbage", "\"x\"\n5\nnull", "[[[[[[[[[[]]]]]]]]]]", "[1e999999999,\"\\ud800\"]", "\ufeff[]",
		"[{}]", "[1,{\"id\":5}]", "[{\"id\":\"a\\u0041\"}, {\"x\":1}]",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint8) {
		limit := int(max%16) + 1
		ok, n, _ := checkDecodeBatch(t, b, limit)
		if !ok {
			return
		}
		if n > limit {
			t.Fatalf("%d items, limit %d", n, limit)
		}
		// Nothing is silently dropped: the items are all of the body's values (or of the
		// array's elements), as encoding/json reads them.
		if values := countValues(t, b); values != n {
			t.Fatalf("%d items from a body of %d values", n, values)
		}
	})
}

// countValues counts the top-level JSON values of b, or the elements of b's array.
func countValues(t *testing.T, b []byte) int {
	if s := strings.Trim(string(b), " \t\r\n"); strings.HasPrefix(s, "[") {
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			t.Fatalf("accepted an array encoding/json refuses: %v", err)
		}
		return len(elems)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("accepted a body encoding/json cannot read: %v", err)
		}
		n++
	}
}
