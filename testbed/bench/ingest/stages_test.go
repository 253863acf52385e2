package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	ingestdec "github.com/pantau-dev/pantau/collector/ingest" // main has a func ingest
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

var benchIdentity = store.Identity{Probe: "bench-000", Network: "Telkomsel", Country: "ID", ASN: 23693}

func sample(t testing.TB, n int) ([]*measurement.Measurement, [][]byte) {
	t.Helper()
	g := newGenerator(1, time.Now().UTC().Add(-48*time.Hour))
	ms := make([]*measurement.Measurement, n)
	js := make([][]byte, n)
	for i := range ms {
		ms[i] = g.measurement()
		b, err := json.Marshal(ms[i])
		if err != nil {
			t.Fatal(err)
		}
		js[i] = b
	}
	return ms, js
}

// The generator's measurements pass the collector's strict decoder unchanged and have
// the shape the benchmark promises.
func TestGeneratedMeasurements(t *testing.T) {
	ms, js := sample(t, 500)
	blocked := 0
	for i, m := range ms {
		got, err := ingestdec.DecodeItem(js[i], time.Now())
		if err != nil {
			t.Fatalf("measurement %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("measurement %d changed in decoding:\n got %+v\nwant %+v", i, got, m)
		}
		if n := len(store.Points(store.Item{M: m, Probe: benchIdentity})); n < 7 || n > 9 {
			t.Errorf("measurement %d: %d points, want 7-9", i, n)
		}
		if len(m.DNS) != 2 || len(m.TCP) != 2 || len(m.TLS) < 1 || len(m.TLS) > 2 || len(m.HTTP) < 1 || len(m.HTTP) > 2 || m.Control == nil {
			t.Errorf("measurement %d: %d DNS, %d TCP, %d TLS, %d HTTP, control %v", i, len(m.DNS), len(m.TCP), len(m.TLS), len(m.HTTP), m.Control != nil)
		}
		if i > 0 && !m.StartedAt.After(ms[i-1].StartedAt) {
			t.Errorf("measurement %d starts at %v, not after the one before", i, m.StartedAt)
		}
		if m.Verdict.Status == measurement.StatusBlocked {
			blocked++
		}
	}
	if blocked < 50 || blocked > 200 {
		t.Errorf("%d of 500 blocked, want about a quarter", blocked)
	}
}

// The collector's stages, per measurement (ns/op is per measurement; MB/s of its JSON).

func BenchmarkGunzip(b *testing.B) {
	_, js := sample(b, 100)
	body, err := gzipJSON(json.RawMessage("[" + string(bytes.Join(js, []byte(","))) + "]"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bytes.Join(js, nil)) / len(js)))
	b.ResetTimer()
	for i := 0; i < b.N; i += len(js) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(zr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeItem(b *testing.B) {
	_, js := sample(b, 100)
	b.SetBytes(int64(len(js[0])))
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ingestdec.DecodeItem(js[i%len(js)], now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshal is encoding/json alone, for comparison with DecodeItem.
func BenchmarkUnmarshal(b *testing.B) {
	_, js := sample(b, 100)
	b.SetBytes(int64(len(js[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m measurement.Measurement
		if err := json.Unmarshal(js[i%len(js)], &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoints(b *testing.B) {
	ms, _ := sample(b, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if store.Points(store.Item{M: ms[i%len(ms)], Probe: benchIdentity}) == nil {
			b.Fatal("no points")
		}
	}
}

// BenchmarkLineProtocol encodes one measurement's points as the store's client does.
func BenchmarkLineProtocol(b *testing.B) {
	ms, _ := sample(b, 100)
	pts := make([][]lp.Metric, len(ms))
	for i, m := range ms {
		for _, p := range store.Points(store.Item{M: m, Probe: benchIdentity}) {
			pts[i] = append(pts[i], p)
		}
	}
	var buf bytes.Buffer
	enc := lp.NewEncoder(&buf)
	enc.SetFieldTypeSupport(lp.UintSupport)
	enc.FailOnFieldErr(true)
	enc.SetPrecision(time.Nanosecond)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		for _, p := range pts[i%len(pts)] {
			if _, err := enc.Encode(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	ms, _ := sample(b, 100)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ms[i%len(ms)].Validate(now); err != nil {
			b.Fatal(err)
		}
	}
}
