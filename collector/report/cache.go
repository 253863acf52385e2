package report

import (
	"context"
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
	// invalidate it at once.
	Settle = time.Hour
)

// CacheConfig bounds the cache of observations and heartbeats. Zero fields take the
// defaults; MaxItems < 0 disables the cache (every query reads InfluxDB).
type CacheConfig struct {
	MaxItems int
	Fresh    time.Duration
	MaxAge   time.Duration
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
	return c
}

// cache keeps the observations of each (domain, UTC day) and the heartbeats of each UTC
// day (all networks), as read from the Source. A query reads only the days it lacks, in
// one query per run of consecutive days.
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
	size       int
	hits       int64
	misses     int64
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
}

func newCache(src Source, cfg CacheConfig, now func() time.Time, log *slog.Logger) *cache {
	return &cache{src: src, cfg: cfg.withDefaults(), now: now, log: log, fill: make(chan struct{}, 1),
		obs: map[chunkKey]*chunk[timeline.Obs]{}, beatChunks: map[time.Time]*chunk[timeline.Beat]{}}
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// days lists the UTC days that [from, to) touches.
func days(from, to time.Time) []time.Time {
	var out []time.Time
	for d := day(from); d.Before(to); d = d.Add(24 * time.Hour) {
		out = append(out, d)
	}
	return out
}

// fresh reports whether a chunk of day d may be reused at now.
func (c *cache) fresh(fetched time.Time, stale bool, d, now time.Time) bool {
	age := now.Sub(fetched)
	if stale || age >= c.cfg.MaxAge {
		return false
	}
	return !fetched.Before(d.Add(24*time.Hour+Settle)) || age < c.cfg.Fresh
}

// chunkedObs returns the observations of domains in [from, to), by day and then by domain
// (in the order of domains): one slice per (domain, day) with observations, each in the
// Source's order (the store's: by At then ID). The slices are the cache's own, shared with
// other queries: callers must not modify them. (The timeline engine and orders.Comply read
// them in place; merging 1.6 million observations into one slice cost more than the rest.)
func (c *cache) chunkedObs(ctx context.Context, domains []string, from, to time.Time) ([][]timeline.Obs, error) {
	at := func(o *timeline.Obs) time.Time { return o.At }
	if c.cfg.MaxItems < 0 {
		obs, err := c.src.Observations(ctx, store.ObsFilter{Domains: domains, From: from, To: to})
		return appendChunk(nil, obs, from, to, at), err
	}
	ds := days(from, to)
	now := c.now()
	need, have := c.lookupObs(domains, ds, now)
	if len(need) > 0 {
		release, err := c.lockFill(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.dirty = map[chunkKey]bool{}
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.dirty = nil
			c.mu.Unlock()
			release()
		}()
		need, have = c.lookupObs(domains, ds, now) // another query may have read them meanwhile
	}
	got := map[chunkKey][]timeline.Obs{}
	for k, doms := range need {
		for _, run := range runs(k) {
			obs, err := c.src.Observations(ctx, store.ObsFilter{Domains: doms, From: run[0], To: run[1]})
			if err != nil {
				return nil, err
			}
			for _, d := range doms {
				for dd := run[0]; dd.Before(run[1]); dd = dd.Add(24 * time.Hour) {
					got[chunkKey{d, dd}] = nil
				}
			}
			for _, o := range obs {
				k := chunkKey{o.Domain, day(o.At)}
				got[k] = append(got[k], o)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, items := range got {
		c.misses++
		c.put(k, items, now)
	}
	c.hits += int64(len(have))
	c.evict()
	out := make([][]timeline.Obs, 0, len(ds)*len(domains))
	for _, dd := range ds {
		for _, d := range domains {
			k := chunkKey{d, dd}
			items, fetched := got[k]
			if !fetched {
				items = have[k]
			}
			out = appendChunk(out, items, from, to, at)
		}
	}
	return out, nil
}

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

func (c *cache) put(k chunkKey, items []timeline.Obs, now time.Time) {
	if old := c.obs[k]; old != nil {
		c.size -= len(old.items) + 1
	}
	c.obs[k] = &chunk[timeline.Obs]{items: items, fetched: now, used: now, stale: c.dirty[k]}
	c.size += len(items) + 1
}

// chunkedBeats returns the heartbeats in [from, to): one slice per day with heartbeats, in
// the Source's order (the store's: by At then Probe). The slices are the cache's own:
// callers must not modify them.
func (c *cache) chunkedBeats(ctx context.Context, from, to time.Time) ([][]timeline.Beat, error) {
	at := func(b *timeline.Beat) time.Time { return b.At }
	if c.cfg.MaxItems < 0 {
		bs, err := c.src.Beats(ctx, store.ObsFilter{From: from, To: to})
		return appendChunk(nil, bs, from, to, at), err
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
	c.mu.Lock()
	defer c.mu.Unlock()
	for dd, items := range got {
		if old := c.beatChunks[dd]; old != nil {
			c.size -= len(old.items) + 1
		}
		c.beatChunks[dd] = &chunk[timeline.Beat]{items: items, fetched: now, used: now}
		c.size += len(items) + 1
	}
	c.evict()
	out := make([][]timeline.Beat, 0, len(ds))
	for _, dd := range ds {
		items, fetched := got[dd]
		if !fetched {
			items = have[dd]
		}
		out = appendChunk(out, items, from, to, at)
	}
	return out, nil
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

// invalidate marks the chunks the items fall on stale, also one being read right now.
func (c *cache) invalidate(items []store.Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		if it.M == nil {
			continue
		}
		k := chunkKey{it.M.Domain, day(store.PointTime(it.M))}
		if ch := c.obs[k]; ch != nil {
			ch.stale = true
		}
		if c.dirty != nil {
			c.dirty[k] = true
		}
	}
}

// evict drops the least recently used chunks while the cache holds more than MaxItems.
// The caller holds c.mu.
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
