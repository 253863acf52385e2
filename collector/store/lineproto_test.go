package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestLineProtocolMatchesPoints: what Write sends is byte for byte what the client
// library's WritePoint sent for Points (its line-protocol encoder, as configured there), for items that exercise every escape, omitted tags,
// the `n` cap and raw chunks.
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
	near := simple("example.com", t0) // JSON under one chunk, escaped over it
	near.Verdict.Reason = strings.Repeat(`"q" `, 12000)
	odd := simple("example.com", t0)
	odd.RuntimeMS = 1e21 // FormatFloat 'f': no exponent
	odd.Port = 65535
	for _, tc := range []struct {
		name string
		it   store.Item
	}{
		{"simple", item(simple("example.com", t0))},
		{"full", item(full("example.com", t0))},
		{"no identity", store.Item{M: full("example.com", t0)}},
		{"escapes", store.Item{M: escapes, Probe: store.Identity{Probe: "p 1", Network: "Telkom, Indonesia", Country: "ID", ASN: 1},
			Geo: store.Geo{Org: "PT \"X\", Tbk"}, ReceivedAt: t0}},
		{"large", item(large)},
		{"near a chunk", item(near)},
		{"odd numbers", item(odd)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pts := store.Points(tc.it)
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
			got, n, err := store.LineProtocol(tc.it)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(pts) {
				t.Errorf("%d points, Points gives %d", n, len(pts))
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
		})
	}
}
