package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestCacheReadsMissingDays: a query reads the whole range once; the same query again
// reads nothing; a late measurement stored through Watch invalidates its day only.
func TestCacheReadsMissingDays(t *testing.T) {
	st, _, _ := fixture(t)
	src := &counting{Source: st}
	svc := newService(t, src, "", end)
	q := report.Query{Domain: "example.org", Network: "XL Axiata", From: start, To: end}
	if _, err := svc.Timelines(ctx(t), q); err != nil {
		t.Fatal(err)
	}
	if r := src.reads(); len(r) != 1 || !r[0].From.Equal(start) || !r[0].To.Equal(end) {
		t.Errorf("first read: %+v, want one read of the whole range", r)
	}
	if _, err := svc.Timelines(ctx(t), q); err != nil {
		t.Fatal(err)
	}
	if r := src.reads(); len(r) != 0 {
		t.Errorf("second read: %+v, want none (cached)", r)
	}
	// A late measurement stored through Watch invalidates its day only.
	late := measure("example.org", time.Date(2017, 7, 16, 12, 30, 0, 0, time.UTC), "accessible", "")
	if err := svc.Watch(st).Write(ctx(t), []store.Item{{M: late, Probe: probes[2]}}); err != nil {
		t.Fatal(err)
	}
	tls, err := svc.Timelines(ctx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2017, 7, 16, 0, 0, 0, 0, time.UTC)
	if r := src.reads(); len(r) != 1 || !r[0].From.Equal(day) || !r[0].To.Equal(day.Add(24*time.Hour)) {
		t.Errorf("after a late write: %+v, want one read of 16 July", r)
	}
	if tls[0].Measurements != 1 {
		t.Errorf("%d measurements after a late write, want 1", tls[0].Measurements)
	}
}

// slowCounting counts reads of observations, and holds the first one until released.
type slowCounting struct {
	counting
	first   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *slowCounting) Observations(ctx context.Context, f store.ObsFilter) ([]timeline.Obs, error) {
	if s.first.CompareAndSwap(false, true) {
		close(s.entered)
		<-s.release
	}
	return s.counting.Observations(ctx, f)
}

// TestConcurrentColdQueriesReadOnce: queries that miss the same days at the same time
// (the start-up warm-up, the alert watcher, the first users) read them from InfluxDB
// once; the others wait and are served from the cache. A query that gives up while
// waiting gets its context's end, as unavailable.
func TestConcurrentColdQueriesReadOnce(t *testing.T) {
	st, _, _ := fixture(t)
	src := &slowCounting{counting: counting{Source: st}, entered: make(chan struct{}), release: make(chan struct{})}
	svc := newService(t, src, "", end)
	q := report.Query{Domain: "t.me", Network: "Telkomsel", From: start, To: end}

	errs := make(chan error, 3)
	go func() { _, err := svc.Timelines(ctx(t), q); errs <- err }()
	<-src.entered // the first query is reading
	for range 2 {
		go func() { _, err := svc.Timelines(ctx(t), q); errs <- err }()
	}
	// One that gives up while waiting.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := svc.Timelines(short, q); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("query given up while waiting: %v, want unavailable", err)
	}
	close(src.release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if reads := src.reads(); len(reads) != 1 {
		t.Errorf("%d reads of observations for 3 concurrent queries of the same days, want 1: %+v", len(reads), reads)
	}
}

// TestWriteDuringFillMarksStale: a measurement stored while its day is being read from
// InfluxDB may be missing from what was read, so that day is read again next time.
func TestWriteDuringFillMarksStale(t *testing.T) {
	st, _, _ := fixture(t)
	src := &slowCounting{counting: counting{Source: st}, entered: make(chan struct{}), release: make(chan struct{})}
	svc := newService(t, src, "", end)
	q := report.Query{Domain: "t.me", Network: "Telkomsel", From: start, To: end}
	errs := make(chan error, 1)
	go func() { _, err := svc.Timelines(ctx(t), q); errs <- err }()
	<-src.entered
	svc.Stored([]store.Item{{M: &measurement.Measurement{ID: "0123456789abcdef0123456789abcdef", Domain: "t.me", StartedAt: start.Add(time.Hour)}}})
	close(src.release)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	src.reads()
	if _, err := svc.Timelines(ctx(t), q); err != nil {
		t.Fatal(err)
	}
	reads := src.reads()
	if len(reads) != 1 || !reads[0].From.Equal(start) || !reads[0].To.Equal(start.Add(24*time.Hour)) {
		t.Errorf("reads after a write during the fill: %+v, want the written day only", reads)
	}
}

// TestComplianceInPlace: the compliance report, which reads the cache's slices in place,
// is the one computed from a single merged slice of the store's observations and
// heartbeats of the order's networks, with the cache cold, warm or disabled, at day
// boundaries and within a day.
func TestComplianceInPlace(t *testing.T) {
	st, _, _ := fixture(t)
	o := seedBlock(t)
	inScope := map[string]bool{}
	for _, n := range o.Networks {
		inScope[n] = true
	}
	want := func(at time.Time) string {
		from, to := o.Effective.Add(-orders.Lookback), at.Add(time.Nanosecond)
		all, err := st.Observations(ctx(t), store.ObsFilter{Domains: o.Domains, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		var obs []timeline.Obs
		for _, ob := range all {
			if inScope[ob.Network] {
				obs = append(obs, ob)
			}
		}
		beats, err := st.Beats(ctx(t), store.ObsFilter{Networks: o.Networks, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		r := orders.Comply(o, timeline.BuildAll(obs, beats, from, to, timeline.DefaultParams()), obs, at)
		r.SetAsOf(end) // the services' clock
		return jsonOf(t, r)
	}
	cached := newService(t, st, "", end)
	uncached, err := report.New(report.Config{Source: st, Now: func() time.Time { return end }, Cache: report.CacheConfig{MaxItems: -1}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{end, time.Date(2017, 7, 15, 13, 17, 30, 5, time.UTC), time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)} {
		w := want(at)
		for _, c := range []struct {
			name string
			svc  *report.Service
		}{{"cold", newService(t, st, "", end)}, {"warm", cached}, {"warm again", cached}, {"no cache", uncached}} {
			r, err := c.svc.Compliance(ctx(t), o.ID, at)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, r); got != w {
				t.Errorf("at %s, %s: report\n%s\nwant\n%s", at, c.name, got, w)
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
