package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// timedStore is the store with the time spent in its timeline reads counted, to tell how
// much of a report's time is InfluxDB's (queries, transfer, decoding) and how much is the
// report's own work.
type timedStore struct {
	*store.Store
	mu         sync.Mutex
	obs, beats readStats
}

type readStats struct {
	calls, rows int
	took        time.Duration
}

func (r readStats) String() string {
	return fmt.Sprintf("%d queries, %d rows, %v", r.calls, r.rows, r.took.Round(time.Millisecond))
}

func (s *timedStore) Observations(ctx context.Context, f store.ObsFilter) ([]timeline.Obs, error) {
	t0 := time.Now()
	out, err := s.Store.Observations(ctx, f)
	s.add(&s.obs, len(out), time.Since(t0))
	return out, err
}

func (s *timedStore) Beats(ctx context.Context, f store.ObsFilter) ([]timeline.Beat, error) {
	t0 := time.Now()
	out, err := s.Store.Beats(ctx, f)
	s.add(&s.beats, len(out), time.Since(t0))
	return out, err
}

func (s *timedStore) add(r *readStats, rows int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.calls++
	r.rows += rows
	r.took += d
}

// take returns the counts since the last take and resets them.
func (s *timedStore) take() (obs, beats readStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obs, beats = s.obs, s.beats
	s.obs, s.beats = readStats{}, readStats{}
	return obs, beats
}
