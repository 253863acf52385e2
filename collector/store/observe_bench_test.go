package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// BenchmarkFirstObserved is the cost Observations adds to find repeated (probe, id) in a
// month of 50 probes × 11 domains every 15 minutes (1.58 million observations, none
// repeated, series by series as InfluxDB answers): what a cold compliance report pays on
// top of reading them.
func BenchmarkFirstObserved(b *testing.B) {
	const n = 1_584_000
	obs := make([]timeline.Obs, n)
	probes := make([]string, 50)
	for i := range probes {
		probes[i] = fmt.Sprintf("probe-%02d", i)
	}
	t0 := time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	per := n / 550 // observations of one series (probe, domain)
	for i := range obs {
		obs[i] = timeline.Obs{At: t0.Add(time.Duration(i%per) * 15 * time.Minute), ID: fmt.Sprintf("%032x", i*2654435761), Probe: probes[i/per%50]}
	}
	s := &Store{}
	b.ReportAllocs()
	for b.Loop() {
		if out, err := s.firstObserved(context.Background(), obs); err != nil || len(out) != n {
			b.Fatal(len(out), err)
		}
	}
}
