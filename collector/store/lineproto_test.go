package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	influxwrite "github.com/influxdata/influxdb-client-go/v2/api/write"
	lp "github.com/influxdata/line-protocol"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestLineProtocolMatchesPoints: what Write sends is byte for byte what the client
// library's line-protocol encoder (configured as its write API configures it) makes of
// Points, for items that exercise every escape, omitted tags, the `n` cap and raw chunks.
func TestLineProtocolMatchesPoints(t *testing.T) {
	escapes := full("exa mple,=\t.com", t0)
	escapes.Schedule = "social\nmedia"
	escapes.Verdict.Reason = "tab\there \"quoted\" back\\slash\r\f\n, = done"
	escapes.DNS[0].Resolver = "udp://10.0.0.1:53 x=y,z"
	large := full("example.com", t0)
	large.HTTP = nil
	for i := range 100 {
		large.HTTP = append(large.HTTP, measurement.HTTPRequest{URL: fmt.Sprintf("https://example.com/%d", i), Method: "GET",
			Status: 302, Title: strings.Repeat("ブロック \"x\" ", 300), TimeMS: float64(i) + 0.125})
	}
	near := measurementtest.Simple("example.com", t0) // JSON under one chunk, escaped over it
	near.Verdict.Reason = strings.Repeat(`"q" `, 12000)
	odd := measurementtest.Simple("example.com", t0)
	odd.RuntimeMS = 1e21 // FormatFloat 'f': no exponent
	odd.Port = 65535
	for _, tc := range []struct {
		name string
		it   store.Item
	}{
		{"simple", item(measurementtest.Simple("example.com", t0))},
		{"full", item(full("example.com", t0))},
		{"no identity", store.Item{M: full("example.com", t0)}},
		{"escapes", store.Item{M: escapes, Probe: store.Identity{Probe: "p 1", Network: "Telkom, Indonesia", Country: "ID", ASN: 1},
			Geo: store.Geo{Org: "PT \"X\", Tbk"}, ReceivedAt: t0}},
		{"large", item(large)},
		{"near a chunk", item(near)},
		{"odd numbers", item(odd)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := store.LineProtocol(tc.it)
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, got, n, store.Points(tc.it))
		})
	}
}

// TestHeartbeatLineProtocolMatchesPoints: what WriteHeartbeat sends is byte for byte what
// the client library's encoder makes of HeartbeatPoints, with escapes, omitted tags,
// never-run schedules and an unnamed one.
func TestHeartbeatLineProtocolMatchesPoints(t *testing.T) {
	now := t0.Add(123456789)
	hb := &measurement.Heartbeat{SentAt: now.Add(-time.Second), Software: measurement.Software{Name: "pantau-probe", Version: "v1 \"x\""},
		SchedulesHash: "abc", SpoolDepth: 3, SpoolBytes: 4096, Dropped: 2, Rejected: 1, Corrupt: 5, Pruned: 7,
		ControlBusy: 4, ClockOffsetMS: -1.5, SyncError: "refused:\nline two\\",
		Schedules: []measurement.ScheduleStatus{{Name: "social media,=x", LastStart: now.Add(-time.Minute), LastEnd: now,
			Measurements: 16, Next: now.Add(time.Minute)}, {Name: "never-ran"}, {}}}
	for _, tc := range []struct {
		name string
		it   store.HeartbeatItem
	}{
		{"escapes", store.HeartbeatItem{H: hb, Probe: store.Identity{Probe: "jkt 01", Network: "Telkom, Indonesia", Country: "ID", ASN: 7713},
			Geo: store.Geo{ASN: 7713}, ReceivedAt: now}},
		{"no identity", store.HeartbeatItem{H: &measurement.Heartbeat{}, ReceivedAt: now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := store.HeartbeatLineProtocol(tc.it)
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, got, n, store.HeartbeatPoints(tc.it))
		})
	}
	if _, _, err := store.HeartbeatLineProtocol(store.HeartbeatItem{}); err == nil {
		t.Error("a nil heartbeat was encoded")
	}
}

// sameLines checks that got, holding n points, is what the client library's write API
// encodes for pts.
func sameLines(t *testing.T, got string, n int, pts []*influxwrite.Point) {
	t.Helper()
	var want strings.Builder
	enc := lp.NewEncoder(&want)
	enc.SetFieldTypeSupport(lp.UintSupport)
	enc.FailOnFieldErr(true)
	enc.SetPrecision(time.Nanosecond)
	for _, p := range pts {
		if _, err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	if n != len(pts) {
		t.Errorf("%d points, want %d", n, len(pts))
	}
	if got != want.String() {
		gl, wl := strings.Split(got, "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d:\n got %.300s\nwant %.300s", i, gl[i], wl[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(gl), len(wl))
	}
}
