package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/store"
)

// IngestStore is what the ingest API writes to (collector/api's Store).
type IngestStore interface {
	Write(ctx context.Context, items []store.Item) error
	Ready(ctx context.Context) error
	Measurements(ctx context.Context, f store.Filter) ([]store.StoredMeasurement, string, error)
	WriteHeartbeat(ctx context.Context, it store.HeartbeatItem) error
}

// Watch wraps an ingest store so that every measurement it stores invalidates the cached
// day it falls on (a probe's backlog may arrive days late): give the ingest API the
// result instead of the store itself.
func (s *Service) Watch(st IngestStore) IngestStore { return watched{st, s} }

type watched struct {
	IngestStore
	s *Service
}

func (w watched) Write(ctx context.Context, items []store.Item) error {
	err := w.IngestStore.Write(ctx, items)
	// Also after an error: a failed batch may be stored in part.
	w.s.Stored(items)
	if merr := w.s.mark(ctx, items); merr != nil && err == nil {
		// Stored but other replicas may not see it: the probe's retry writes the marks.
		return fmt.Errorf("writing ingest marks: %w", merr)
	}
	return err
}

// mark writes the ingest marks of the items that fall on a past UTC day, after they were
// written (Marker explains why after, and why not today).
func (s *Service) mark(ctx context.Context, items []store.Item) error {
	if s.marker == nil {
		return nil
	}
	today := day(time.Now())
	seen := map[chunkKey]bool{}
	var ms []store.Mark
	for _, it := range items {
		if it.M == nil {
			continue
		}
		k := chunkKey{it.M.Domain, day(it.M.StartedAt)}
		if !k.day.Before(today) || seen[k] {
			continue
		}
		seen[k] = true
		ms = append(ms, store.Mark{Kind: store.MarkObs, Domain: k.domain, Day: k.day, Value: s.markValue()})
	}
	if len(ms) == 0 {
		return nil
	}
	return s.marker.WriteMarks(ctx, ms)
}

// markValue is the wall clock in nanoseconds, increasing within this process: a value no
// other write has (two replicas would have to write in the same nanosecond).
func (s *Service) markValue() int64 {
	for {
		last, now := s.lastMark.Load(), time.Now().UnixNano()
		if now <= last {
			now = last + 1
		}
		if s.lastMark.CompareAndSwap(last, now) {
			return now
		}
	}
}

// Warm computes every order's compliance now, which reads the days it needs into the cache:
// call it at start (and every CacheConfig.MaxAge) so that the first request is not the one
// that waits for InfluxDB (docs/api.md, Performance).
func (s *Service) Warm(ctx context.Context) error {
	start := time.Now()
	var errs []error
	for _, o := range s.Orders() {
		if !o.Effective.Add(-orders.Lookback).Before(s.now()) {
			continue // nothing to report yet
		}
		if _, err := s.Compliance(ctx, o.ID, time.Time{}); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
		}
	}
	st := s.CacheStats()
	s.log.Info("report cache warmed", "orders", len(s.Orders()), "items", st.Items, "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}
