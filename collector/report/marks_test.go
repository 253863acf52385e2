package report_test

import (
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestMarksAcrossReplicas: two Services on one bucket, as two collector replicas. What A
// writes into a settled day that B has cached makes B read that (domain, day) again at
// its next revalidation, and only that one; writes into today leave no marks.
func TestMarksAcrossReplicas(t *testing.T) {
	url, _ := influxtest.Server(t)
	st, err := store.New(store.Config{URL: url, Bucket: influxtest.NewBucket(t), Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	replica := func(src report.Source) *report.Service {
		s, err := report.New(report.Config{Source: src, Marks: st, Params: timeline.Params{K: 1, M: 1},
			Cache: report.CacheConfig{Revalidate: time.Millisecond}}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, bSrc := replica(st), &counting{Source: st}
	b := replica(bSrc)
	d := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	write := func(domain string, at time.Time) {
		t.Helper()
		it := store.Item{M: measure(domain, at, "accessible", ""), Probe: probes[0], ReceivedAt: time.Now()}
		if err := a.Watch(st).Write(ctx(t), []store.Item{it}); err != nil {
			t.Fatal(err)
		}
	}
	write("t.me", d.Add(10*time.Hour))
	q := report.Query{Domain: "t.me", From: d, To: d.Add(24 * time.Hour)}
	for _, step := range []struct {
		name      string
		before    func()
		reads, at int // observation reads of B, observations in its timeline
	}{
		{"first read", func() {}, 1, 1},
		{"cached, marks unchanged", func() {}, 0, 1},
		{"backlog of t.me through A", func() { write("t.me", d.Add(11*time.Hour)) }, 1, 2},
		{"backlog of another domain", func() { write("x.com", d.Add(11*time.Hour)) }, 0, 2},
		{"a write into today", func() { write("t.me", time.Now().Add(-time.Minute)) }, 0, 2},
	} {
		step.before()
		time.Sleep(5 * time.Millisecond) // past Revalidate
		tls, err := b.Timelines(ctx(t), q)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		n := 0
		for _, tl := range tls {
			for _, p := range tl.Periods {
				n += p.Measurements + p.Disagreeing + p.Inconclusive
			}
		}
		if got := len(bSrc.reads()); got != step.reads || n != step.at {
			t.Errorf("%s: B read %d times and has %d observations, want %d and %d", step.name, got, n, step.reads, step.at)
		}
	}
	marks, err := st.Marks(ctx(t), d, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(marks) != 2 || marks[0].Day != d || marks[1].Day != d {
		t.Errorf("marks %+v: want one each for t.me and x.com on %s, none today", marks, d)
	}
}
