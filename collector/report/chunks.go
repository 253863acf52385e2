package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

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
			if ch == nil || !c.fresh(ch.fetched, ch.stale, dd, now) {
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

// lockFill waits for the fill slot (or ctx) and returns its release.
func (c *cache) lockFill(ctx context.Context) (func(), error) {
	select {
	case c.fill <- struct{}{}:
		return func() { <-c.fill }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the report cache: %w", store.ErrUnavailable)
	}
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
