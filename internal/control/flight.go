package control

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// errBusy means too many observations are running or waiting for a slot.
var errBusy = errors.New("too many observations in progress; retry shortly")

// result is one finished observation.
type result struct {
	at  time.Time // when it started
	obs measurement.Observations
	err error // the Observer panicked
}

// flight is one observation in progress, shared by every request with its key.
type flight struct {
	done    chan struct{} // closed when res is set
	res     result
	waiters int
	cancel  context.CancelFunc // called when the last waiter has gone
	anon    bool               // started by an anonymous client
}

// do returns the observation for key: from the cache, from a flight in progress, or from
// a new flight. A new flight is refused with errBusy when MaxConcurrent flights are
// running and MaxQueue are waiting, or, for an anonymous caller, when anonymous callers
// started maxAnon of them. The caller waits no longer than ctx; when the last caller of
// a flight has gone, the flight is cancelled and its result not cached.
func (h *handler) do(ctx context.Context, key string, t target.Target, addrs []string, anon bool) (res result, cached bool, err error) {
	h.mu.Lock()
	f := h.flights[key]
	if f == nil {
		if res, ok := h.cache.get(key, time.Now()); ok {
			h.mu.Unlock()
			return res, true, nil
		}
		if h.pending >= h.maxPending || anon && h.anonPending >= h.maxAnon {
			h.mu.Unlock()
			return result{}, false, errBusy
		}
		fctx, cancel := context.WithCancel(context.Background())
		f = &flight{done: make(chan struct{}), cancel: cancel, anon: anon}
		h.flights[key] = f
		h.pending++
		if anon {
			h.anonPending++
		}
		go h.fly(fctx, key, f, t, addrs)
	}
	f.waiters++
	h.mu.Unlock()

	select {
	case <-f.done:
		return f.res, false, f.res.err
	case <-ctx.Done():
		h.mu.Lock()
		f.waiters--
		if f.waiters == 0 && h.flights[key] == f {
			delete(h.flights, key)
			f.cancel()
		}
		h.mu.Unlock()
		return result{}, false, ctx.Err()
	}
}

// fly runs one flight: wait for a slot, observe within the timeout, publish the result.
func (h *handler) fly(ctx context.Context, key string, f *flight, t target.Target, addrs []string) {
	defer func() {
		h.mu.Lock()
		h.pending--
		if f.anon {
			h.anonPending--
		}
		h.mu.Unlock()
	}()
	var res result
	select {
	case h.slots <- struct{}{}:
		res = h.observe(ctx, t, addrs)
		<-h.slots
	case <-ctx.Done():
		res = result{err: ctx.Err()}
	}
	f.cancel()
	h.mu.Lock()
	if h.flights[key] == f { // not abandoned
		delete(h.flights, key)
		if res.err == nil {
			h.cache.put(key, res, time.Now())
		}
	}
	f.res = res
	h.mu.Unlock()
	close(f.done)
}

// observe calls the Observer within the timeout; a panic becomes an error.
func (h *handler) observe(ctx context.Context, t target.Target, addrs []string) (res result) {
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	start := time.Now()
	res.at = start.UTC().Truncate(time.Millisecond)
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("control observer panicked", "target", t.String(), "panic", p)
			res = result{err: fmt.Errorf("observer panicked: %v", p)}
		}
	}()
	res.obs = h.obs.Observe(ctx, t, addrs)
	h.log.Debug("control observation", "target", t.String(), "addrs", addrs,
		"ms", measurement.Ms(time.Since(start)), "interrupted", ctx.Err() != nil)
	return res
}

// cache holds finished observations for the TTL, at most max entries, evicting the
// oldest. It is not synchronised: the handler's mutex guards it.
type cache struct {
	ttl   time.Duration // <= 0: nothing is cached
	max   int
	order *list.List // of *cacheEntry, oldest first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key     string
	res     result
	expires time.Time
}

func newCache(ttl time.Duration, maxEntries int) *cache {
	return &cache{ttl: ttl, max: maxEntries, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *cache) get(key string, now time.Time) (result, bool) {
	c.expire(now)
	el, ok := c.byKey[key]
	if !ok {
		return result{}, false
	}
	return el.Value.(*cacheEntry).res, true
}

func (c *cache) put(key string, res result, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
	}
	c.byKey[key] = c.order.PushBack(&cacheEntry{key: key, res: res, expires: now.Add(c.ttl)})
	for c.order.Len() > c.max {
		c.remove(c.order.Front())
	}
	c.expire(now)
}

// expire drops expired entries. With one TTL, insertion order is expiry order.
func (c *cache) expire(now time.Time) {
	for el := c.order.Front(); el != nil && !now.Before(el.Value.(*cacheEntry).expires); el = c.order.Front() {
		c.remove(el)
	}
}

func (c *cache) remove(el *list.Element) {
	delete(c.byKey, el.Value.(*cacheEntry).key)
	c.order.Remove(el)
}

// logger returns log, or a logger that discards.
func logger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
