package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	lp "github.com/influxdata/line-protocol"

	"github.com/pantau-dev/pantau/collector/store"
)

var telegram = []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org"}

var start = time.Date(2017, 7, 7, 0, 0, 0, 0, time.UTC)

// storeLines encodes points as the store's client library writes them.
func storeLines(t *testing.T, pts []*lpPoint) string {
	t.Helper()
	var buf bytes.Buffer
	enc := lp.NewEncoder(&buf)
	enc.SetFieldTypeSupport(lp.UintSupport)
	enc.FailOnFieldErr(true)
	for _, p := range pts {
		if _, err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

type lpPoint = write.Point

// TestLinesAreTheStores checks that the generator writes exactly the bytes the collector's
// store would write for the same measurements and heartbeats (so the report reads what it
// reads in production), and that the measurements are valid.
func TestLinesAreTheStores(t *testing.T) {
	w := newWorld(start, 30, 5, telegram)
	e := newEncoder()
	n := 0
	for _, p := range []*probe{&w.probes[0], &w.probes[33], &w.probes[49]} {
		for _, d := range []string{"t.me", "telegram.org", "flora-1.web.telegram.org"} {
			for _, slot := range []int{0, 700, 1152, 2000, 2879} {
				it := w.item(p, d, slot)
				if err := it.M.Validate(w.end()); err != nil {
					t.Fatalf("%s %s %d: %v", p.name, d, slot, err)
				}
				e.buf.Reset()
				if err := e.reach(it); err != nil {
					t.Fatal(err)
				}
				if want := storeLines(t, store.Points(it)); e.buf.String() != want {
					t.Fatalf("reach of %s %s slot %d:\n got %s\nwant %s", p.name, d, slot, e.buf.String(), want)
				}
				n++
			}
		}
		hb := w.heartbeatItem(p, start.Add(26*time.Hour+5*time.Minute+p.hbOffset))
		if err := hb.H.Validate(w.end()); err != nil {
			t.Fatal(err)
		}
		e.buf.Reset()
		if err := e.heartbeat(hb); err != nil {
			t.Fatal(err)
		}
		if want := storeLines(t, store.HeartbeatPoints(hb)); e.buf.String() != want {
			t.Fatalf("heartbeat of %s:\n got %s\nwant %s", p.name, e.buf.String(), want)
		}
	}
	if n != 45 {
		t.Errorf("compared %d measurements, want 45", n)
	}
}
