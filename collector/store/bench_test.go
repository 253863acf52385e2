package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxwrite "github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

const benchBatch = 100 // measurements per write, like a probe's upload

// benchItems returns batches of distinct full measurements (about 17 points each).
func benchItems(batches int) [][]store.Item {
	out := make([][]store.Item, batches)
	for i := range out {
		for j := range benchBatch {
			out[i] = append(out[i], item(full("example.com", t0.Add(time.Duration(i*benchBatch+j)*time.Millisecond))))
		}
	}
	return out
}

func BenchmarkPoints(b *testing.B) {
	it := item(full("example.com", t0))
	b.ReportAllocs()
	for b.Loop() {
		store.Points(it)
	}
	b.ReportMetric(float64(len(store.Points(it))), "points/op")
}

// BenchmarkWrite measures Store.Write: mapping, encoding and the HTTP write to InfluxDB.
func BenchmarkWrite(b *testing.B) {
	url, _ := influxtest.Server(b)
	bucket := influxtest.NewBucket(b)
	s, err := store.New(store.Config{URL: url, Bucket: bucket}, quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batches := benchItems(10)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := s.Write(ctx, batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "measurements/s")
}

// BenchmarkWriteLineProtocol writes the same points pre-encoded: InfluxDB's own cost, the
// floor for BenchmarkWrite.
func BenchmarkWriteLineProtocol(b *testing.B) {
	url, _ := influxtest.Server(b)
	bucket := influxtest.NewBucket(b)
	client := influxdb2.NewClientWithOptions(url, "", influxdb2.DefaultOptions().SetPrecision(time.Nanosecond))
	defer client.Close()
	w := client.WriteAPIBlocking("", bucket)
	var bodies []string
	for _, batch := range benchItems(10) {
		var lines []string
		for _, it := range batch {
			for _, p := range store.Points(it) {
				lines = append(lines, influxwrite.PointToLineProtocol(p, time.Nanosecond))
			}
		}
		bodies = append(bodies, strings.Join(lines, ""))
	}
	ctx := context.Background()
	n := 0
	for b.Loop() {
		if err := w.WriteRecord(ctx, bodies[n%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "measurements/s")
}

// BenchmarkLineProtocol is what Write does to an item before sending it: the points
// encoded straight to line protocol, with the measurement's JSON.
func BenchmarkLineProtocol(b *testing.B) {
	it := item(full("example.com", t0))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := store.LineProtocol(it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLineProtocolBatch is Write's encoding of a probe's batch of 100 measurements,
// without the HTTP write (ns/op is per batch).
func BenchmarkLineProtocolBatch(b *testing.B) {
	batch := benchItems(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.LineProtocolBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}
