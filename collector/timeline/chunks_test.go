package timeline

import (
	"reflect"
	"testing"
	"time"
)

// byDomainDay splits obs (in time order) as the collector's report cache keeps them: one
// slice per (domain, UTC day), each in time order; beats by day.
func byDomainDay(obs []Obs, beats []Beat) ([][]Obs, [][]Beat) {
	type key struct {
		domain string
		day    time.Time
	}
	var keys []key
	chunks := map[key][]Obs{}
	for _, o := range obs {
		k := key{o.Domain, o.At.Truncate(24 * time.Hour)}
		if _, ok := chunks[k]; !ok {
			keys = append(keys, k)
		}
		chunks[k] = append(chunks[k], o)
	}
	var out [][]Obs
	for _, k := range keys {
		out = append(out, chunks[k])
	}
	var bs [][]Beat
	for i := 0; i < len(beats); i += 1000 {
		bs = append(bs, beats[i:min(i+1000, len(beats))])
	}
	return out, bs
}

// TestBuildChunks: BuildChunks on chunks gives BuildAll's timelines of the kept
// observations, in one slice.
func TestBuildChunks(t *testing.T) {
	obs, beats := benchData(10, 15)
	from, to := obs[0].At.Add(36*time.Hour), obs[len(obs)-1].At.Add(-12*time.Hour)
	keep := func(o *Obs) bool { return o.Network != "net-3" }
	var kept []Obs
	for _, o := range obs {
		if keep(&o) {
			kept = append(kept, o)
		}
	}
	want := BuildAll(kept, beats, from, to, Params{})
	chunks, bchunks := byDomainDay(obs, beats)
	got := BuildChunks(chunks, keep, bchunks, from, to, Params{})
	if len(got) != 4*len(benchDomains) {
		t.Fatalf("%d timelines, want %d", len(got), 4*len(benchDomains))
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("timeline %d (%s@%s) differs:\n got %+v\nwant %+v", i, want[i].Domain, want[i].Network, got[i], want[i])
			}
		}
		t.Fatalf("%d timelines, want %d", len(got), len(want))
	}
	if got := BuildChunks(nil, nil, nil, from, to, Params{}); len(got) != 0 {
		t.Errorf("no chunks: %d timelines", len(got))
	}
}

// BenchmarkBuildChunks: BenchmarkBuildAll's data set split by domain and day, as the
// report cache holds it.
func BenchmarkBuildChunks(b *testing.B) {
	obs, beats := benchData(30, 50)
	from, to := obs[0].At.Truncate(time.Hour), obs[len(obs)-1].At.Add(time.Hour)
	chunks, bchunks := byDomainDay(obs, beats)
	b.ReportMetric(float64(len(obs)), "obs")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tls := BuildChunks(chunks, nil, bchunks, from, to, Params{})
		if len(tls) != 5*len(benchDomains) {
			b.Fatalf("%d timelines", len(tls))
		}
	}
}
