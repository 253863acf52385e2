package store

import (
	"time"
)

// What the store knows of a probe's stored measurements, so that a probe posting batch
// after batch (a spool draining a backlog, a busy probe) is looked up in InfluxDB once in
// a while rather than once per batch.
//
// When a probe's items in a look-up started within knowSpan of each other, the look-up
// reads all the probe's measurements from the earliest item's millisecond to knowSpan
// after it, rather than the items' milliseconds only: a few rows more. The answer, plus
// what this store writes for the probe afterwards, is everything stored for the probe in
// that span, unless another writer (a replica sharing the bucket) writes for the probe
// meanwhile. For Config.Known after the look-up was sent, the guard answers later items
// of the probe in that span from it, as InfluxDB would have: by ID, every content stored.
//
// The knowledge is dropped when a write of the probe's items fails (InfluxDB may hold
// them or not), and when it grows past knowMax measurements.

// DefaultKnown is Config.Known when zero.
const DefaultKnown = 10 * time.Second

// knowSpan is the time a probe's look-up reads when its items are that close: long
// enough for the batches that follow within Config.Known, short enough that reading an
// old batch again reads little more than it.
const knowSpan = 10 * time.Minute

// knowMax is how many measurements of one probe the store keeps knowing.
const knowMax = 20_000

// knowSweep is how often the guard drops the knowledge that expired.
const knowSweep = time.Minute

// known is what the store knows of one probe's measurements stored in a span of
// milliseconds: ID → the hex SHA-256 of each content stored ("" for a point without one).
type known struct {
	from, to time.Time // the milliseconds it covers: [from, to)
	until    time.Time // trusted until then; zero while the look-up is in flight
	ids      map[string][]string
}

// answer says what is stored for c when the guard knows it: the contents stored with
// c's ID (none: new) and true; false when InfluxDB must be asked. Called with g.mu held.
func (g *guard) answer(c itemCheck, now time.Time) ([]string, bool) {
	k := g.known[c.probe]
	if k == nil || !now.Before(k.until) || c.ms.Before(k.from) || !c.ms.Before(k.to) {
		return nil, false
	}
	return k.ids[c.id], true
}

// begin records that a look-up of every measurement of probe stored in [from, to) is
// about to be sent; writes of the probe's items from then on are added to it.
func (g *guard) begin(probe string, from, to time.Time) *known {
	k := &known{from: from, to: to, ids: map[string][]string{}}
	g.mu.Lock()
	g.known[probe] = k
	g.mu.Unlock()
	return k
}

// install adds the look-up's answer (ID → contents) to k and trusts it until until,
// unless k was dropped or replaced meanwhile; failed says the look-up failed.
func (g *guard) install(probe string, k *known, ids map[string][]string, until time.Time, failed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.known[probe] != k {
		return
	}
	if failed {
		delete(g.known, probe)
		return
	}
	for id, sums := range ids {
		k.ids[id] = append(k.ids[id], sums...)
	}
	k.until = until
	g.trim(probe, k)
}

// learn adds c, just written, to what the guard knows of its probe (when written), or
// forgets the probe (when the write failed: InfluxDB may hold it or not; or when what it
// knew expired, so that nothing is added to it any more). Called with g.mu held.
func (g *guard) learn(c itemCheck, written bool, now time.Time) {
	k := g.known[c.probe]
	switch {
	case k == nil:
	case !written, !k.until.IsZero() && !now.Before(k.until):
		delete(g.known, c.probe)
	case !c.ms.Before(k.from) && c.ms.Before(k.to):
		k.ids[c.id] = append(k.ids[c.id], hexSum(c.sum))
		g.trim(c.probe, k)
	}
}

// trim forgets probe when the store knows too many of its measurements, and, at most
// once a knowSweep, every probe whose knowledge expired. Called with g.mu held.
func (g *guard) trim(probe string, k *known) {
	if len(k.ids) > knowMax {
		delete(g.known, probe)
	}
	if now := time.Now(); now.Sub(g.swept) > knowSweep {
		g.swept = now
		for p, k := range g.known {
			if !k.until.IsZero() && !now.Before(k.until) {
				delete(g.known, p)
			}
		}
	}
}
