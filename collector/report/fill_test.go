package report_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/measurement"
)

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
