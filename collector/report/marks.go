package report

import (
	"context"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
)

// Marker writes and reads ingest marks (collector/store's Store implements it): how
// collector replicas on one bucket learn, without talking to each other, that another
// replica wrote into a day they cached (docs/scaling.md, Scale-out).
//
// Every write of measurements into a past UTC day (a probe's backlog) is followed by a
// mark per (domain, day) written, a value that changes with every write. A replica
// reads the marks of a settled day (store.Marks: one small query) at most every
// CacheConfig.Revalidate before reusing its chunks, and reads a chunk again when its
// mark differs from the one known before the chunk was read. Because the mark is written
// after the data, a chunk read before the data was written has an older mark, and one
// read after it has the data. Writes into today need no mark: a day's chunks are reused
// past CacheConfig.Fresh only once the day is settled (ended an hour ago), after which
// only backlogs write into it. Heartbeats are stamped with the collector's receive time,
// so they never fall on a past day: heartbeat chunks need no marks.
type Marker interface {
	WriteMarks(ctx context.Context, marks []store.Mark) error
	Marks(ctx context.Context, from, to time.Time) ([]store.Mark, error)
}

// marks holds the ingest marks known to this replica, per (domain, day), and when each
// settled day's marks were last read.
type marks struct {
	src    Marker // nil: no revalidation (a single collector)
	every  time.Duration
	forget time.Duration // a day not read this long is forgotten

	check   sync.Mutex // one revalidation query at a time
	mu      sync.Mutex
	known   map[chunkKey]int64
	checked map[time.Time]time.Time
}

func newMarks(src Marker, every, forget time.Duration) marks {
	return marks{src: src, every: every, forget: forget, known: map[chunkKey]int64{}, checked: map[time.Time]time.Time{}}
}

// revalidate reads the marks of the settled days in ds whose marks were read longer than
// Revalidate ago, in one query; a failed read is logged and the cached chunks are used as
// they are (the data query would most likely fail too).
func (c *cache) revalidate(ctx context.Context, ds []time.Time, now time.Time) {
	m := &c.marks
	if m.src == nil || len(m.due(ds, now)) == 0 {
		return
	}
	m.check.Lock()
	defer m.check.Unlock()
	due := m.due(ds, now) // another query may have read them meanwhile
	if len(due) == 0 {
		return
	}
	from, to := due[0], due[len(due)-1].Add(24*time.Hour)
	got, err := m.src.Marks(ctx, from, to)
	if err != nil {
		c.log.Warn("report cache: ingest marks not read; cached days are reused as they are", "err", err)
		return
	}
	m.update(got, from, to, now)
}

// due lists the days of ds (ascending) that are settled at now and whose marks were read
// Revalidate ago or longer.
func (m *marks) due(ds []time.Time, now time.Time) []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for _, d := range ds {
		if now.Before(d.Add(24*time.Hour + Settle)) {
			continue
		}
		if t, ok := m.checked[d]; !ok || now.Sub(t) >= m.every {
			out = append(out, d)
		}
	}
	return out
}

// update records the marks read for the days in [from, to) at now and forgets the days
// not read for a while.
func (m *marks) update(got []store.Mark, from, to, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mk := range got {
		if mk.Kind == store.MarkObs {
			m.known[chunkKey{mk.Domain, day(mk.Day)}] = mk.Value
		}
	}
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		m.checked[d] = now
	}
	old := map[time.Time]bool{}
	for d, t := range m.checked {
		if now.Sub(t) > m.forget {
			old[d] = true
			delete(m.checked, d)
		}
	}
	if len(old) > 0 {
		for k := range m.known {
			if old[k.day] {
				delete(m.known, k)
			}
		}
	}
}

// moved reports whether the mark of chunk k differs from mark, the one known when the
// chunk was read: another replica wrote into it since.
func (m *marks) moved(k chunkKey, mark int64) bool {
	if m.src == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.known[k] != mark
}

// record copies into known the marks of domains on the days in [from, to).
func (m *marks) record(known map[chunkKey]int64, domains []string, from, to time.Time) {
	if m.src == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range domains {
		for dd := from; dd.Before(to); dd = dd.Add(24 * time.Hour) {
			known[chunkKey{d, dd}] = m.known[chunkKey{d, dd}]
		}
	}
}
