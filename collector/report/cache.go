package report

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Cache defaults (docs/api.md, Performance).
const (
	DefaultCacheItems = 2_000_000        // observations and heartbeats kept, about 300 MB
	DefaultCacheFresh = 30 * time.Second // reuse of a day that is not over (plus Settle)
	DefaultCacheAge   = 6 * time.Hour    // reuse of a day that is over
	// Settle: a day's chunk fetched this long after the day ended is settled: reused for
	// MaxAge instead of Fresh. Later writes through the Service's Watch wrapper still
	// invalidate it at once; writes through other replicas, once its ingest marks say so
	// (marks.go).
	Settle = time.Hour
	// DefaultRevalidate: how often, at most, a settled day's ingest marks are read again.
	DefaultRevalidate = 10 * time.Second
)

// CacheConfig bounds the cache of observations and heartbeats. Zero fields take the
// defaults; MaxItems < 0 disables the cache (every query reads InfluxDB). Revalidate is
// how often, at most, the ingest marks of a settled day are read again (with a Marker).
type CacheConfig struct {
	MaxItems   int
	Fresh      time.Duration
	MaxAge     time.Duration
	Revalidate time.Duration
}

func (c CacheConfig) withDefaults() CacheConfig {
	if c.MaxItems == 0 {
		c.MaxItems = DefaultCacheItems
	}
	if c.Fresh <= 0 {
		c.Fresh = DefaultCacheFresh
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultCacheAge
	}
	if c.Revalidate <= 0 {
		c.Revalidate = DefaultRevalidate
	}
	return c
}

// cache keeps the observations of each (domain, UTC day) and the heartbeats of each UTC
// day (all networks), as read from the Source. A query reads only the days it lacks, in
// one query per run of consecutive days.
//
// A query goes through four steps, in the order of this file: lookup (the fresh chunks it
// has, the days it lacks), fill (read the missing days from the Source and put them in),
// hand out (the chunks, cut to the query's range, shared with other queries), and evict
// (drop the least recently used chunks when over MaxItems). Writes invalidate the chunks
// they fall on.
type cache struct {
	src Source
	cfg CacheConfig
	now func() time.Time
	log *slog.Logger

	// fill is held (a one-slot semaphore, so that a waiting query can give up) while a
	// query reads missing days from the Source: concurrent queries missing the same days
	// (the start-up warm-up, the alert watcher's first check, the first users) read them
	// once, the others wait and find them cached. Queries finding everything cached never
	// wait for it.
	fill chan struct{}
	// dirty, while a query fills observations (nil otherwise), records the chunks written
	// meanwhile: what the fill read of them may predate the write, so they are put stale.
	dirty map[chunkKey]bool

	mu         sync.Mutex
	obs        map[chunkKey]*chunk[timeline.Obs]
	beatChunks map[time.Time]*chunk[timeline.Beat]
	size       int // items in obs and beatChunks, plus one per chunk
	hits       int64
	misses     int64

	marks marks // what other replicas wrote into settled days (marks.go)
}

type chunkKey struct {
	domain string
	day    time.Time
}

type chunk[T any] struct {
	items   []T
	fetched time.Time
	used    time.Time
	stale   bool
	mark    int64 // the ingest mark known before the chunk was read (marks.go)
}

func newCache(src Source, cfg CacheConfig, marker Marker, now func() time.Time, log *slog.Logger) *cache {
	cfg = cfg.withDefaults()
	return &cache{src: src, cfg: cfg, now: now, log: log, fill: make(chan struct{}, 1),
		obs: map[chunkKey]*chunk[timeline.Obs]{}, beatChunks: map[time.Time]*chunk[timeline.Beat]{},
		marks: newMarks(marker, cfg.Revalidate, 2*cfg.MaxAge)}
}

// The queries: each runs lookup, fill and hand out.

// observations returns the observations of domains in [from, to) that keep accepts (nil:
// all) in one new slice, in chunkedObs' order: sorted by At then ID when domains has one
// name and [from, to) is within one day or the Source sorts.
func (c *cache) observations(ctx context.Context, domains []string, from, to time.Time, keep func(*timeline.Obs) bool) ([]timeline.Obs, error) {
	chunks, err := c.chunkedObs(ctx, domains, from, to)
	if err != nil {
		return nil, err
	}
	return merge(chunks, keep), nil
}

// chunkedObs returns the observations of domains in [from, to), by day and then by domain
// (in the order of domains): one slice per (domain, day) with observations, each in the
// Source's order (the store's: by At then ID). The slices are the cache's own, shared with
// other queries: callers must not modify them. (The timeline engine and orders.Comply read
// them in place: merging 1.6 million observations into one slice costs more than the rest
// of a report.)
func (c *cache) chunkedObs(ctx context.Context, domains []string, from, to time.Time) ([][]timeline.Obs, error) {
	if c.cfg.MaxItems < 0 {
		obs, err := c.src.Observations(ctx, store.ObsFilter{Domains: domains, From: from, To: to})
		return appendChunk(nil, obs, from, to, obsAt), err
	}
	ds := days(from, to)
	now := c.now()
	c.revalidate(ctx, ds, now)
	need, have := c.lookupObs(domains, ds, now)
	if len(need) > 0 {
		endFill, err := c.beginObsFill(ctx)
		if err != nil {
			return nil, err
		}
		defer endFill()
		need, have = c.lookupObs(domains, ds, now) // another query may have read them meanwhile
	}
	got, known, err := c.readObs(ctx, need)
	if err != nil {
		return nil, err
	}
	c.storeObs(got, known, len(have), now)
	return handOutObs(domains, ds, got, have, from, to), nil
}

// beats returns the heartbeats in [from, to) that keep accepts (nil: all) in one new
// slice, sorted by At then Probe when the Source sorts.
func (c *cache) beats(ctx context.Context, from, to time.Time, keep func(*timeline.Beat) bool) ([]timeline.Beat, error) {
	chunks, err := c.chunkedBeats(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return merge(chunks, keep), nil
}

// chunkedBeats returns the heartbeats in [from, to): one slice per day with heartbeats, in
// the Source's order (the store's: by At then Probe). The slices are the cache's own:
// callers must not modify them.
func (c *cache) chunkedBeats(ctx context.Context, from, to time.Time) ([][]timeline.Beat, error) {
	if c.cfg.MaxItems < 0 {
		bs, err := c.src.Beats(ctx, store.ObsFilter{From: from, To: to})
		return appendChunk(nil, bs, from, to, beatAt), err
	}
	ds := days(from, to)
	now := c.now()
	missing, have := c.lookupBeats(ds, now)
	if len(missing) > 0 {
		release, err := c.lockFill(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		missing, have = c.lookupBeats(ds, now) // another query may have read them meanwhile
	}
	got, err := c.readBeats(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.storeBeats(got, now)
	return handOutBeats(ds, got, have, from, to), nil
}

// Lookup: the fresh chunks a query can reuse and the days it lacks.

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// days lists the UTC days that [from, to) touches.
func days(from, to time.Time) []time.Time {
	var out []time.Time
	for d := day(from); d.Before(to); d = d.Add(24 * time.Hour) {
		out = append(out, d)
	}
	return out
}

// lookupObs finds the cached chunks of domains on days ds that are fresh at now (have,
// taken now: another query may evict them) and the missing days per domain (need: the
// missing days, space-separated, to the domains missing exactly those, read together).
func (c *cache) lookupObs(domains []string, ds []time.Time, now time.Time) (need map[string][]string, have map[chunkKey][]timeline.Obs) {
	need, have = map[string][]string{}, map[chunkKey][]timeline.Obs{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range domains {
		var missing []string
		for _, dd := range ds {
			ch := c.obs[chunkKey{d, dd}]
			if ch == nil || !c.fresh(ch.fetched, ch.stale, dd, now) || c.marks.moved(chunkKey{d, dd}, ch.mark) {
				missing = append(missing, dd.Format(time.RFC3339))
				continue
			}
			ch.used = now
			have[chunkKey{d, dd}] = ch.items
		}
		if len(missing) > 0 {
			k := strings.Join(missing, " ")
			need[k] = append(need[k], d)
		}
	}
	return need, have
}

// lookupBeats finds the cached heartbeat chunks of days ds fresh at now (have) and the
// missing days.
func (c *cache) lookupBeats(ds []time.Time, now time.Time) (missing []string, have map[time.Time][]timeline.Beat) {
	have = map[time.Time][]timeline.Beat{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dd := range ds {
		ch := c.beatChunks[dd]
		if ch == nil || !c.fresh(ch.fetched, ch.stale, dd, now) {
			missing = append(missing, dd.Format(time.RFC3339))
			continue
		}
		ch.used = now
		have[dd] = ch.items
	}
	return missing, have
}

// fresh reports whether a chunk of day d may be reused at now.
func (c *cache) fresh(fetched time.Time, stale bool, d, now time.Time) bool {
	age := now.Sub(fetched)
	if stale || age >= c.cfg.MaxAge {
		return false
	}
	return !fetched.Before(d.Add(24*time.Hour+Settle)) || age < c.cfg.Fresh
}

// Fill: one query at a time reads the missing days from the Source and puts them in.

// lockFill waits for the fill slot (or ctx) and returns its release.
func (c *cache) lockFill(ctx context.Context) (func(), error) {
	select {
	case c.fill <- struct{}{}:
		return func() { <-c.fill }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the report cache: %w", store.ErrUnavailable)
	}
}

// beginObsFill takes the fill slot and starts recording the chunks written meanwhile
// (dirty); the returned end stops recording and frees the slot.
func (c *cache) beginObsFill(ctx context.Context) (end func(), err error) {
	release, err := c.lockFill(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.dirty = map[chunkKey]bool{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.dirty = nil
		c.mu.Unlock()
		release()
	}, nil
}

// readObs reads the days need lacks from the Source, one query per run of consecutive
// days for the domains missing the same days, into one slice per (domain, day); a day
// without observations gets a nil slice, so that it is cached too. known holds the ingest
// mark of each chunk as known before its query: a write after that changes the mark.
func (c *cache) readObs(ctx context.Context, need map[string][]string) (got map[chunkKey][]timeline.Obs, known map[chunkKey]int64, err error) {
	got, known = map[chunkKey][]timeline.Obs{}, map[chunkKey]int64{}
	for k, doms := range need {
		for _, run := range runs(k) {
			for _, d := range doms {
				for dd := run[0]; dd.Before(run[1]); dd = dd.Add(24 * time.Hour) {
					got[chunkKey{d, dd}] = nil
				}
			}
			c.marks.record(known, doms, run[0], run[1])
			obs, err := c.src.Observations(ctx, store.ObsFilter{Domains: doms, From: run[0], To: run[1]})
			if err != nil {
				return nil, nil, err
			}
			for _, o := range obs {
				k := chunkKey{o.Domain, day(o.At)}
				got[k] = append(got[k], o)
			}
		}
	}
	return got, known, nil
}

// readBeats reads the missing days from the Source, one query per run of consecutive
// days, into one slice per day (nil for a day without heartbeats).
func (c *cache) readBeats(ctx context.Context, missing []string) (map[time.Time][]timeline.Beat, error) {
	got := map[time.Time][]timeline.Beat{}
	for _, run := range runs(strings.Join(missing, " ")) {
		bs, err := c.src.Beats(ctx, store.ObsFilter{From: run[0], To: run[1]})
		if err != nil {
			return nil, err
		}
		for dd := run[0]; dd.Before(run[1]); dd = dd.Add(24 * time.Hour) {
			got[dd] = nil
		}
		for _, b := range bs {
			got[day(b.At)] = append(got[day(b.At)], b)
		}
	}
	return got, nil
}

// runs turns "day day …" (RFC 3339, ascending) into [start, end) ranges of consecutive days.
func runs(list string) [][2]time.Time {
	var out [][2]time.Time
	for _, f := range strings.Fields(list) {
		d, _ := time.Parse(time.RFC3339, f)
		if n := len(out); n > 0 && out[n-1][1].Equal(d) {
			out[n-1][1] = d.Add(24 * time.Hour)
			continue
		}
		out = append(out, [2]time.Time{d, d.Add(24 * time.Hour)})
	}
	return out
}

// storeObs puts the chunks read into the cache (stale if written during the fill), counts
// the lookups (hits: chunks reused) and evicts.
func (c *cache) storeObs(got map[chunkKey][]timeline.Obs, known map[chunkKey]int64, hits int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, items := range got {
		c.misses++
		c.size += putChunk(c.obs, k, items, now, c.dirty[k], known[k])
	}
	c.hits += int64(hits)
	c.evict()
}

// storeBeats puts the heartbeat chunks read into the cache and evicts.
func (c *cache) storeBeats(got map[time.Time][]timeline.Beat, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for dd, items := range got {
		c.size += putChunk(c.beatChunks, dd, items, now, false, 0)
	}
	c.evict()
}

// putChunk puts items into chunks under k, replacing any chunk there, and returns by how
// much the cache's size grew.
func putChunk[K comparable, T any](chunks map[K]*chunk[T], k K, items []T, now time.Time, stale bool, mark int64) (grown int) {
	if old := chunks[k]; old != nil {
		grown -= len(old.items) + 1
	}
	chunks[k] = &chunk[T]{items: items, fetched: now, used: now, stale: stale, mark: mark}
	return grown + len(items) + 1
}

// Hand out: the chunks of a query, from those read and those cached, cut to its range.

// handOutObs returns the chunks of domains on days ds, by day and then by domain, from
// those read (got) or else those cached (have), each cut to [from, to).
func handOutObs(domains []string, ds []time.Time, got, have map[chunkKey][]timeline.Obs, from, to time.Time) [][]timeline.Obs {
	out := make([][]timeline.Obs, 0, len(ds)*len(domains))
	for _, dd := range ds {
		for _, d := range domains {
			k := chunkKey{d, dd}
			items, read := got[k]
			if !read {
				items = have[k]
			}
			out = appendChunk(out, items, from, to, obsAt)
		}
	}
	return out
}

// handOutBeats returns the heartbeat chunks of days ds, from those read (got) or else
// those cached (have), each cut to [from, to).
func handOutBeats(ds []time.Time, got, have map[time.Time][]timeline.Beat, from, to time.Time) [][]timeline.Beat {
	out := make([][]timeline.Beat, 0, len(ds))
	for _, dd := range ds {
		items, read := got[dd]
		if !read {
			items = have[dd]
		}
		out = appendChunk(out, items, from, to, beatAt)
	}
	return out
}

func obsAt(o *timeline.Obs) time.Time   { return o.At }
func beatAt(b *timeline.Beat) time.Time { return b.At }

// appendChunk appends items to chunks: as they are when all are in [from, to), else a
// new slice of those that are; nothing when none is.
func appendChunk[T any](chunks [][]T, items []T, from, to time.Time, at func(*T) time.Time) [][]T {
	in := 0
	for i := range items {
		if t := at(&items[i]); !t.Before(from) && t.Before(to) {
			in++
		}
	}
	switch {
	case in == 0:
		return chunks
	case in == len(items):
		return append(chunks, items)
	}
	part := make([]T, 0, in)
	for i := range items {
		if t := at(&items[i]); !t.Before(from) && t.Before(to) {
			part = append(part, items[i])
		}
	}
	return append(chunks, part)
}

// merge returns the items of chunks that keep accepts (nil: all), in order, in one new
// slice sized once: growing a slice of 1.6 million observations costs more than the rest.
func merge[T any](chunks [][]T, keep func(*T) bool) []T {
	total := 0
	for _, ch := range chunks {
		total += len(ch)
	}
	out := make([]T, 0, total)
	for _, ch := range chunks {
		if keep == nil {
			out = append(out, ch...)
			continue
		}
		for i := range ch {
			if keep(&ch[i]) {
				out = append(out, ch[i])
			}
		}
	}
	return out
}

// Invalidate and evict.

// invalidate marks the chunks the items fall on stale, also one being read right now.
func (c *cache) invalidate(items []store.Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		if it.M == nil {
			continue
		}
		k := chunkKey{it.M.Domain, day(it.M.StartedAt)} // the day of its points (store.PointTime)
		if ch := c.obs[k]; ch != nil {
			ch.stale = true
		}
		if c.dirty != nil {
			c.dirty[k] = true
		}
	}
}

// evict drops the least recently used chunks while the cache holds more than MaxItems,
// down to nine tenths of it. The caller holds c.mu.
func (c *cache) evict() {
	if c.size <= c.cfg.MaxItems {
		return
	}
	type entry struct {
		used time.Time
		drop func() int
	}
	var all []entry
	for k, ch := range c.obs {
		all = append(all, entry{ch.used, func() int { delete(c.obs, k); return len(ch.items) + 1 }})
	}
	for k, ch := range c.beatChunks {
		all = append(all, entry{ch.used, func() int { delete(c.beatChunks, k); return len(ch.items) + 1 }})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	target := c.cfg.MaxItems * 9 / 10
	n := 0
	for _, e := range all {
		if c.size <= target {
			break
		}
		c.size -= e.drop()
		n++
	}
	c.log.Debug("report cache: evicted chunks", "chunks", n, "items", c.size)
}

// CacheStats are the cache's counters.
type CacheStats struct {
	Items        int   `json:"items"`
	Hits, Misses int64 // chunk lookups of observations
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Items: c.size, Hits: c.hits, Misses: c.misses}
}
