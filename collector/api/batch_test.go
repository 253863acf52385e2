package api_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
)

// checkDecodeBatch checks that DecodeBatch, where it decodes a batch, gives for each item
// what splitting it (SplitBatch) and decoding each item alone (DecodeItem) gives: the
// same number of items, the same measurements, the same messages. It reports whether
// DecodeBatch decoded the batch and how many items it accepted.
func checkDecodeBatch(t *testing.T, b []byte, limit int) (bool, int) {
	t.Helper()
	ms, errs, ok := api.DecodeBatch(b, limit, fuzzNow)
	if !ok {
		return false, 0
	}
	items, err := api.SplitBatch(b, limit)
	if err != nil {
		t.Fatalf("%q: decoded in one scan, but splitting says %v", b, err)
	}
	if len(items) != len(ms) || len(ms) != len(errs) {
		t.Fatalf("%q: %d measurements and %d errors; split into %d items", b, len(ms), len(errs), len(items))
	}
	accepted := 0
	for i, it := range items {
		m, err := api.DecodeItem(it, fuzzNow)
		switch {
		case fmt.Sprint(err) != fmt.Sprint(errs[i]):
			t.Fatalf("%q: item %d: error %v; alone %v", b, i, errs[i], err)
		case (m == nil) != (ms[i] == nil) || m != nil && !reflect.DeepEqual(m, ms[i]):
			t.Fatalf("%q: item %d decoded\n%+v\nalone\n%+v", b, i, ms[i], m)
		case m != nil:
			accepted++
		}
	}
	return true, accepted
}

// TestDecodeBatchMatchesSplit mutates a batch of full measurements at random, as
// TestDecodeItemMatchesReference does an item.
func TestDecodeBatchMatchesSplit(t *testing.T) {
	item := jsonOf(t, full("example.com", fuzzNow.Add(-time.Hour)))
	bodies := [][]byte{
		[]byte("[" + item + ",\n" + item + " , " + item + "]"),
		[]byte(item + "\n" + item + "\n" + item),
	}
	r := rand.New(rand.NewPCG(3, 4))
	const structural = `{}[],:"\u0n1e- ` + "\n"
	decoded, accepted := 0, 0
	for k := range 3000 {
		b := append([]byte(nil), bodies[k%2]...)
		b = mutate(r, b, structural)
		ok, n := checkDecodeBatch(t, b, 1+r.IntN(4))
		if ok {
			decoded++
		}
		accepted += n
	}
	for _, b := range bodies {
		if ok, n := checkDecodeBatch(t, b, 3); !ok || n != 3 {
			t.Errorf("a good batch: decoded %v, %d accepted", ok, n)
		}
	}
	if decoded == 0 || accepted == 0 {
		t.Errorf("%d mutated batches decoded, %d items accepted: the test compares little", decoded, accepted)
	}
}

// FuzzDecodeBatch feeds arbitrary bodies to DecodeBatch (see checkDecodeBatch).
func FuzzDecodeBatch(f *testing.F) {
	good := jsonOf(f, simple("example.com", fuzzNow.Add(-time.Hour)))
	for _, s := range []string{
		"[" + good + "," + good + "]", good + "\n" + good + "\n", "[", "[]", "[{}]", "{}{}", "[1,{\"id\":5}]",
		"[{\"id\":\"a\\u0041\"}, {\"x\":1}]",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint8) {
		checkDecodeBatch(t, b, int(max%16)+1)
	})
}

// BenchmarkDecodeBatch decodes a batch of 100 full measurements in one scan; Split is the
// way before it: split, then DecodeItem each item.
func BenchmarkDecodeBatch(b *testing.B) {
	var items []string
	for range 100 {
		items = append(items, jsonOf(b, full("example.com", fuzzNow.Add(-time.Hour))))
	}
	in := []byte("[" + strings.Join(items, ",") + "]")
	b.Run("OneScan", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if ms, _, ok := api.DecodeBatch(in, 1000, fuzzNow); !ok || len(ms) != 100 || ms[99] == nil {
				b.Fatal(ok, len(ms))
			}
		}
	})
	b.Run("Split", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			got, err := api.SplitBatch(in, 1000)
			if err != nil {
				b.Fatal(err)
			}
			for _, it := range got {
				if _, err := api.DecodeItem(it, fuzzNow); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
