package report

import (
	"context"

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
	return err
}
