package ingest_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// checkDecodeBatch checks that DecodeBatch refuses the batches the reference splitter
// (ReferenceSplitBatch, encoding/json's Decoder) refuses, with the same error, and gives
// for each item of the others what decoding the item alone (DecodeItem) gives: the same
// number of items, the same measurements, the same messages. It reports whether
// DecodeBatch accepted the batch, its number of items and how many it accepted.
func checkDecodeBatch(t *testing.T, b []byte, limit int) (ok bool, items, accepted int) {
	t.Helper()
	ms, errs, err := ingest.DecodeBatch(b, limit, fuzzNow)
	ref, refErr := ingest.ReferenceSplitBatch(b, limit)
	if fmt.Sprint(err) != fmt.Sprint(refErr) {
		t.Fatalf("%q: error %v; the reference splitter's %v", b, err, refErr)
	}
	if err != nil {
		if ms != nil || errs != nil || !strings.HasPrefix(err.Error(), "body: ") {
			t.Fatalf("%q: error %q with %d measurements and %d errors", b, err, len(ms), len(errs))
		}
		return false, 0, 0
	}
	if len(ref) != len(ms) || len(ms) != len(errs) {
		t.Fatalf("%q: %d measurements and %d errors; the reference splits it into %d items", b, len(ms), len(errs), len(ref))
	}
	for i, it := range ref {
		m, err := ingest.DecodeItem(it, fuzzNow)
		switch {
		case fmt.Sprint(err) != fmt.Sprint(errs[i]):
			t.Fatalf("%q: item %d: error %v; alone %v", b, i, errs[i], err)
		case (m == nil) != (ms[i] == nil) || m != nil && !reflect.DeepEqual(m, ms[i]):
			t.Fatalf("%q: item %d decoded\n%+v\nalone\n%+v", b, i, ms[i], m)
		case m != nil:
			accepted++
		}
	}
	return true, len(ms), accepted
}

// TestDecodeBatchMatchesReference mutates a batch of full measurements at random, as
// TestDecodeItemMatchesReference does an item.
func TestDecodeBatchMatchesReference(t *testing.T) {
	item := measurementtest.JSON(t, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour)))
	bodies := [][]byte{
		[]byte("[" + item + ",\n" + item + " , " + item + "]"),
		[]byte(item + "\n" + item + "\n" + item),
	}
	r := rand.New(rand.NewPCG(3, 4))
	const structural = `{}[],:"\u0n1e- ` + "\n"
	decoded, refused, accepted := 0, 0, 0
	for k := range 3000 {
		b := append([]byte(nil), bodies[k%2]...)
		b = mutate(r, b, structural)
		ok, _, n := checkDecodeBatch(t, b, 1+r.IntN(4))
		if ok {
			decoded++
		} else {
			refused++
		}
		accepted += n
	}
	for _, b := range bodies {
		if ok, _, n := checkDecodeBatch(t, b, 3); !ok || n != 3 {
			t.Errorf("a good batch: decoded %v, %d accepted", ok, n)
		}
	}
	if decoded == 0 || refused == 0 || accepted == 0 {
		t.Errorf("%d mutated batches decoded, %d refused, %d items accepted: the test compares little", decoded, refused, accepted)
	}
}

// TestDecodeBatchDeep checks nesting at encoding/json's limit: 10,000 levels in an item
// are read (and the item refused), 10,001 refuse the batch.
func TestDecodeBatchDeep(t *testing.T) {
	for _, depth := range []int{10000, 10001} {
		for _, b := range []string{
			"[" + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "]",
			"{}\n" + strings.Repeat("[", depth) + strings.Repeat("]", depth),
		} {
			if ok, _, _ := checkDecodeBatch(t, []byte(b), 3); ok != (depth == 10000) {
				t.Errorf("depth %d: decoded %v", depth, ok)
			}
		}
	}
}

// BenchmarkDecodeBatch decodes a batch of 100 full measurements.
func BenchmarkDecodeBatch(b *testing.B) {
	var items []string
	for range 100 {
		items = append(items, measurementtest.JSON(b, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour))))
	}
	in := []byte("[" + strings.Join(items, ",") + "]")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if ms, _, err := ingest.DecodeBatch(in, 1000, fuzzNow); err != nil || len(ms) != 100 || ms[99] == nil {
			b.Fatal(err, len(ms))
		}
	}
}
