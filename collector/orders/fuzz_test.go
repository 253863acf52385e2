package orders

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// FuzzParse: Parse never panics, and an order it returns is valid.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob("seeds/*.yaml")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(ok + "domains: [t.me, &a x.org, *a]\ngrace: 3d\n"))
	f.Add([]byte(ok + "domains: [t.me]\nsources: {a: b}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Parse("x.yaml", b)
		if err == nil {
			if verr := o.Validate(); verr != nil {
				t.Fatalf("Parse gave an invalid order: %v", verr)
			}
		}
	})
}

// BenchmarkComply: the seed lift over 30 days of 50 probes on 4 networks measuring the
// 11 names every 15 minutes (about 1.6 million observations; the timelines prebuilt).
func BenchmarkComply(b *testing.B) {
	lift := Seeds()[1]
	from := lift.Effective.Add(-Lookback)
	to := from.Add(30 * 24 * time.Hour)
	var obs []timeline.Obs
	for at := from; at.Before(to); at = at.Add(15 * time.Minute) {
		for p := range 50 {
			n := isps[p%len(isps)]
			for _, d := range telegram {
				s := A
				if partial(n, d) || at.Before(lift.Effective) {
					s = B
				}
				obs = append(obs, timeline.Obs{At: at.Add(time.Duration(p) * time.Second), ID: "m", Probe: "p", Network: n, Domain: d, Status: s})
			}
		}
	}
	tls := timeline.BuildAll(obs, nil, from, to, timeline.DefaultParams())
	b.ResetTimer()
	for b.Loop() {
		if r := Comply(lift, tls, obs, to); r.Status != NonCompliant {
			b.Fatalf("status %s", r.Status)
		}
	}
}
