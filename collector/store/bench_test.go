package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxwrite "github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

const benchBatch = 100 // measurements per write, like a probe's upload

// benchItems returns batches of distinct full measurements (about 17 points each), with
// the bytes a probe submits for each (as ingest gives them to Write).
func benchItems(batches int) [][]store.Item {
	out := make([][]store.Item, batches)
	for i := range out {
		for j := range benchBatch {
			out[i] = append(out[i], submittedItem(full("example.com", t0.Add(time.Duration(i*benchBatch+j)*time.Millisecond))))
		}
	}
	return out
}

// submittedItem is item(m) with the JSON the probe's uplink sends for m.
func submittedItem(m *measurement.Measurement) store.Item {
	it := item(m)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err)
	}
	it.Raw = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return it
}

// renewed gives the measurements of batch new IDs and start times later by shift, in their
// JSON too: new measurements for each write, as a fleet sends them (a rewrite of stored
// ones is not written again), each in a millisecond of its own.
func renewed(batch []store.Item, shift time.Duration) {
	for k, it := range batch {
		m := *it.M
		id := measurement.NewID()
		started := m.StartedAt.Add(shift)
		it.Raw = bytes.Replace(it.Raw, []byte(m.ID), []byte(id), 1)
		it.Raw = bytes.Replace(it.Raw, []byte(`"started_at":"`+m.StartedAt.Format(time.RFC3339Nano)),
			[]byte(`"started_at":"`+started.Format(time.RFC3339Nano)), 1)
		m.ID, m.StartedAt = id, started
		it.M = &m
		batch[k] = it
	}
}

func BenchmarkPoints(b *testing.B) {
	it := submittedItem(full("example.com", t0))
	b.ReportAllocs()
	for b.Loop() {
		store.Points(it)
	}
	b.ReportMetric(float64(len(store.Points(it))), "points/op")
}

// BenchmarkWrite measures Store.Write of new measurements: mapping, encoding, the check of
// what is stored and the HTTP write to InfluxDB.
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
		batch := batches[n%len(batches)]
		b.StopTimer()
		renewed(batch, time.Second)
		b.StartTimer()
		if err := s.Write(ctx, batch); err != nil {
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
// encoded straight to line protocol, with the measurement's JSON as submitted.
func BenchmarkLineProtocol(b *testing.B) {
	it := submittedItem(full("example.com", t0))
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
