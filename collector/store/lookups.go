package store

import (
	"context"
	"sync"
)

// lookups merges the look-ups (lookUp) of concurrent Write calls: while one InfluxQL
// request is in flight, the calls that arrive wait together, and the next request asks
// for all of their items at once (a statement per probe and run of nearby windows, the
// windows of one probe's items from several calls joined). At full load InfluxDB then
// answers a few look-ups a second instead of one per Write; an idle collector still asks
// at once.
type lookups struct {
	mu    sync.Mutex
	queue []*lookup
	busy  bool // a goroutine is running look-ups
}

// lookup is one Write's look-up: the items the guard left to InfluxDB, and the answer
// once done is closed.
type lookup struct {
	checks []itemCheck
	done   chan struct{}
	stored map[string][]string // shared by the calls of one request: read only
	err    error
}

// ask looks checks up, in the next shared request, and waits for the answer (or ctx).
func (s *Store) ask(ctx context.Context, checks []itemCheck) (map[string][]string, error) {
	l := &lookup{checks: checks, done: make(chan struct{})}
	s.lookups.mu.Lock()
	s.lookups.queue = append(s.lookups.queue, l)
	if !s.lookups.busy {
		s.lookups.busy = true
		// The request serves several calls, so no one call's cancellation ends it; the
		// HTTP client's timeout (Config.Timeout) bounds it.
		go s.runLookups(context.WithoutCancel(ctx))
	}
	s.lookups.mu.Unlock()
	select {
	case <-l.done:
		return l.stored, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runLookups answers the queued look-ups, all those waiting in one request, until none
// is left.
func (s *Store) runLookups(ctx context.Context) {
	for {
		s.lookups.mu.Lock()
		batch := s.lookups.queue
		s.lookups.queue = nil
		if len(batch) == 0 {
			s.lookups.busy = false
			s.lookups.mu.Unlock()
			return
		}
		s.lookups.mu.Unlock()
		var checks []itemCheck
		for _, l := range batch {
			checks = append(checks, l.checks...)
		}
		s.lookupRequests.Add(1)
		stored, err := s.lookUp(ctx, checks)
		for _, l := range batch {
			l.stored, l.err = stored, err
			close(l.done)
		}
	}
}

// LookUps is how many look-up requests (InfluxQL) Write sent to InfluxDB.
func (s *Store) LookUps() int64 { return s.lookupRequests.Load() }
