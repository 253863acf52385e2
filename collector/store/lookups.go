package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// lookups merges the look-ups (lookUp) of concurrent Write calls: while one InfluxQL
// request is in flight, the calls that arrive wait together, and the next request asks
// for all of their items at once (one probe's items from several calls in the same
// statements). At full load InfluxDB then answers a few look-ups a second instead of one
// per Write; an idle collector still asks at once.
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

// lookStmt is one statement of a look-up: the probe it asks about and, for one that
// reads a span, the knowledge it begins (known.go) and the contents it found by ID.
type lookStmt struct {
	probe string
	k     *known
	ids   map[string][]string
}

// lookUp reads, for each of checks, the sha256 of every reach point stored by its probe
// with its ID: one InfluxQL request. For a probe whose items are close in time one
// statement reads everything in knowSpan from their first millisecond, and the guard
// keeps the answer (known.go); for the others it reads their milliseconds only, a
// statement per run of nearby windows. Write calls it through ask, for the items the
// guard could not decide on. Errors wrap ErrUnavailable: the items are neither stored
// nor refused, and the probe retries.
func (s *Store) lookUp(ctx context.Context, checks []itemCheck) (map[string][]string, error) {
	byProbe := map[string][]time.Time{}
	want := map[string]bool{}
	for _, c := range checks {
		byProbe[c.probe] = append(byProbe[c.probe], c.ms)
		want[c.key] = true
	}
	now := time.Now()
	var stmts []string
	var about []lookStmt
	for _, p := range slices.Sorted(maps.Keys(byProbe)) {
		ms := byProbe[p]
		from, to := slices.MinFunc(ms, time.Time.Compare), slices.MaxFunc(ms, time.Time.Compare)
		if s.cfg.Known > 0 && to.Sub(from) < knowSpan {
			to = from.Add(knowSpan)
			stmts = append(stmts, lookStatement(p, from, to))
			about = append(about, lookStmt{probe: p, k: s.guard.begin(p, from, to), ids: map[string][]string{}})
			continue
		}
		for _, w := range mergeWindows(ms) {
			stmts = append(stmts, lookStatement(p, w[0], w[1]))
			about = append(about, lookStmt{probe: p})
		}
	}
	stored := map[string][]string{}
	err := s.influxQL(ctx, strings.Join(stmts, "; "), func(stmt int, se *influxql.Series) error {
		id, sum := se.Col("id"), se.Col("sha256")
		if id < 0 || stmt >= len(about) {
			return fmt.Errorf("query result: columns %v, want id and sha256", se.Columns)
		}
		st := about[stmt]
		for _, row := range se.Values {
			rowID, v := influxql.Text(row[id]), ""
			if sum >= 0 {
				v = influxql.Text(row[sum])
			}
			if st.ids != nil {
				st.ids[rowID] = append(st.ids[rowID], v)
			}
			if key := st.probe + "\x00" + rowID; want[key] {
				stored[key] = append(stored[key], v)
			}
		}
		return nil
	})
	for _, st := range about {
		if st.k != nil {
			s.guard.install(st.probe, st.k, st.ids, now.Add(s.cfg.Known), err != nil)
		}
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("checking what is stored: %w", err)
	}
	return stored, nil
}

// lookStatement reads the id and sha256 of every reach point of probe in [from, to).
func lookStatement(probe string, from, to time.Time) string {
	return fmt.Sprintf(`SELECT "id", "sha256" FROM %s WHERE "probe"::tag = %s AND time >= %s AND time < %s`,
		influxql.Ident(Reach), influxql.String(probe), influxql.Time(from), influxql.Time(to))
}

// mergeWindows returns the [from, to) ranges covering the milliseconds starting at ms,
// windows closer than checkMerge joined.
func mergeWindows(ms []time.Time) [][2]time.Time {
	slices.SortFunc(ms, time.Time.Compare)
	var out [][2]time.Time
	for _, t := range ms {
		end := t.Add(time.Millisecond)
		if n := len(out); n > 0 && !t.After(out[n-1][1].Add(checkMerge)) {
			if end.After(out[n-1][1]) {
				out[n-1][1] = end
			}
			continue
		}
		out = append(out, [2]time.Time{t, end})
	}
	return out
}
