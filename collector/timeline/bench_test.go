package timeline

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var benchDomains = []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org",
	"desktop.telegram.org", "macos.telegram.org", "web.telegram.org", "venus.web.telegram.org",
	"pluto.web.telegram.org", "flora.web.telegram.org", "flora-1.web.telegram.org"}

// benchData generates days of measurements: probes probes on 5 networks, every domain
// every 15 minutes, heartbeats every 5 minutes. The first two networks block every domain
// from day 5 (one of their probes uses another resolver and never sees it); now and then
// a probe sees an odd result, 2% of measurements are inconclusive; every probe is offline
// three hours a week.
func benchData(days, probes int) ([]Obs, []Beat) {
	r := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2017, 7, 9, 0, 0, 0, 0, time.UTC)
	rounds := days * 24 * 4
	obs := make([]Obs, 0, rounds*probes*len(benchDomains))
	beats := make([]Beat, 0, rounds*3*probes)
	for p := range probes {
		probe, network := fmt.Sprintf("probe-%02d", p), fmt.Sprintf("net-%d", p%5)
		offset := time.Duration(r.IntN(900)) * time.Second
		offline := r.IntN(rounds)
		for k := range rounds {
			if (k-offline+rounds)%(7*96) < 12 {
				continue // offline three hours a week
			}
			t := start.Add(time.Duration(k)*15*time.Minute + offset)
			for b := range 3 {
				beats = append(beats, Beat{At: t.Add(time.Duration(b) * 5 * time.Minute), Probe: probe, Network: network})
			}
			for d, domain := range benchDomains {
				st, method := Accessible, ""
				if p%5 < 2 && p >= 5 && k >= 5*96 {
					st, method = Blocked, "dns"
				}
				switch {
				case (k+p)%97 == 0 && d == k%len(benchDomains): // isolated odd results
					st, method = Blocked, "tcp"
				case (k*7+p*3+d)%50 == 0:
					st, method = Inconclusive, ""
				}
				obs = append(obs, Obs{At: t.Add(time.Duration(d) * time.Second), ID: fmt.Sprintf("%s-%d-%d", probe, k, d),
					Probe: probe, Network: network, Domain: domain, Status: st, Method: method})
			}
		}
	}
	// as the store returns them: by time, then ID
	slices.SortFunc(obs, func(a, b Obs) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID)) })
	return obs, beats
}

// BenchmarkBuildAll: 30 days × 50 probes × 11 domains at a 15-minute cadence (≈1.6M
// observations, 430k heartbeats).
func BenchmarkBuildAll(b *testing.B) {
	obs, beats := benchData(30, 50)
	from, to := obs[0].At.Truncate(time.Hour), obs[len(obs)-1].At.Add(time.Hour)
	b.ReportMetric(float64(len(obs)), "obs")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tls := BuildAll(obs, beats, from, to, Params{})
		if len(tls) != 5*len(benchDomains) {
			b.Fatalf("%d timelines", len(tls))
		}
	}
}

// BenchmarkBuild: one pair out of the same data set (what a timeline query computes after
// the store returned only that pair: here the confirmation still scans all of it).
func BenchmarkBuild(b *testing.B) {
	obs, beats := benchData(30, 50)
	from, to := obs[0].At.Truncate(time.Hour), obs[len(obs)-1].At.Add(time.Hour)
	var pair []Obs
	for _, o := range obs {
		if o.Domain == "t.me" && o.Network == "net-0" {
			pair = append(pair, o)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tl := Build("t.me", "net-0", pair, beats, from, to, Params{})
		if tl.Current != Blocked {
			b.Fatalf("current %s", tl.Current)
		}
	}
}

// TestBenchData checks that the generated data set reads as designed, so the benchmark
// measures a realistic case: blocked from day 5 on the first two networks, one transition
// per blocked pair, odd measurements never confirmed, offline stretches as gaps.
func TestBenchData(t *testing.T) {
	obs, beats := benchData(10, 15)
	from, to := obs[0].At.Truncate(time.Hour), obs[len(obs)-1].At.Add(time.Hour)
	for _, tl := range BuildAll(obs, beats, from, to, Params{}) {
		want := "accessible"
		if tl.Network == "net-0" || tl.Network == "net-1" {
			want = "accessible blocked/dns"
		}
		var got []string
		for _, p := range tl.Periods {
			got = append(got, strings.TrimSuffix(string(p.State)+"/"+p.Method, "/"))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s@%s: periods %v, want %s", tl.Domain, tl.Network, got, want)
		}
		checkInvariants(t, tl, filterPair(obs, tl.Domain, tl.Network))
	}
}
