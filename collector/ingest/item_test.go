package ingest_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestDecodeItemMatchesReference mutates a full measurement's JSON at random (bytes
// changed, cut, structural characters inserted) and checks that DecodeItem accepts and
// refuses what the reference decoder does, with the same messages and the same values.
// FuzzDecodeItem does the same from arbitrary bytes.
func TestDecodeItemMatchesReference(t *testing.T) {
	good := []byte(measurementtest.JSON(t, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour))))
	r := rand.New(rand.NewPCG(1, 2))
	const structural = `{}[],:"\u0n1e-`
	accepted := 0
	for range 3000 {
		b := append([]byte(nil), good...)
		b = mutate(r, b, structural)
		m, err := ingest.DecodeItem(b, fuzzNow)
		ref, fromCheck, refErr := ingest.ReferenceDecodeItem(b, fuzzNow)
		switch {
		case (err == nil) != (refErr == nil):
			t.Fatalf("%s\nerror %v; the reference checker's %v", b, err, refErr)
		case err != nil && fromCheck && err.Error() != refErr.Error():
			t.Fatalf("%s\nerror\n%s\nthe reference checker's\n%s", b, err, refErr)
		case err == nil && !reflect.DeepEqual(m, ref):
			t.Fatalf("%s\ndecoded\n%+v\nthe reference checker\n%+v", b, *m, *ref)
		case err == nil:
			accepted++
		}
	}
	if accepted == 0 {
		t.Error("no mutation was accepted: the test compares only refusals")
	}
}

func BenchmarkDecodeItem(b *testing.B) {
	in := []byte(measurementtest.JSON(b, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour))))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ingest.DecodeItem(in, fuzzNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeItemReference is the reference decoder, on encoding/json, for comparison.
func BenchmarkDecodeItemReference(b *testing.B) {
	in := []byte(measurementtest.JSON(b, measurementtest.Full("example.com", fuzzNow.Add(-time.Hour))))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ingest.ReferenceDecodeItem(in, fuzzNow); err != nil {
			b.Fatal(err)
		}
	}
}

// mutate makes one to three random edits of b: a byte overwritten, the end cut off, or
// one of structural inserted.
func mutate(r *rand.Rand, b []byte, structural string) []byte {
	for range 1 + r.IntN(3) {
		switch r.IntN(3) {
		case 0:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		case 1:
			b = b[:1+r.IntN(len(b))]
		case 2:
			i := r.IntN(len(b) + 1)
			b = append(b[:i], append([]byte{structural[r.IntN(len(structural))]}, b[i:]...)...)
		}
	}
	return b
}
