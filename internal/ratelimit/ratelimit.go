// Package ratelimit is a token bucket per key: each key (a probe, a client address) may
// make burst requests at once and rate per second on average. It tracks a bounded number
// of keys; when a new key arrives at that bound the least recently seen one is forgotten
// and starts again with a full bucket. A refusal says how long until a token is there,
// and RetryAfter rounds that up to whole seconds for a Retry-After header. A clock that
// goes backwards adds no tokens. Rate 0 (or burst 0) means unlimited.
package ratelimit

import (
	"container/list"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a Limiter tracks when New is given maxKeys ≤ 0.
const DefaultMaxKeys = 10000

// Limiter is a token bucket per key, tracking at most max keys (keep that above the
// number of clients expected, or forgotten ones start again with a full bucket). Safe
// for concurrent use; a nil *Limiter allows everything.
type Limiter struct {
	rate  float64 // tokens per second; 0: unlimited
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently seen
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// New returns a Limiter of perSecond tokens per second and burst tokens at most per key,
// tracking maxKeys keys (≤ 0: DefaultMaxKeys). perSecond ≤ 0, +Inf or NaN, or burst ≤ 0
// disables limiting.
func New(perSecond float64, burst int, maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	l := &Limiter{max: maxKeys, buckets: map[string]*list.Element{}}
	if perSecond > 0 && burst > 0 && !math.IsInf(perSecond, 1) {
		l.rate, l.burst = perSecond, float64(burst)
	}
	return l
}

// Allow takes one token from key's bucket at now. When the bucket is empty it returns
// false and how long until a token is there (always > 0). A clock that goes backwards
// adds no tokens.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil || l.rate == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	// Round up to the nanosecond, forgiving float error of a fraction of one: at a rate
	// of 1/3 a wait of exactly 2 s must not become 2 s + 1 ns (Retry-After 3).
	wait := time.Duration(math.Ceil((1-b.tokens)/l.rate*float64(time.Second) - 1e-3))
	return false, max(wait, time.Nanosecond)
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// get returns key's bucket, creating a full one (and forgetting the least recently seen
// key at the bound) if needed. l.mu must be held.
func (l *Limiter) get(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if len(l.buckets) >= l.max {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// RetryAfter formats d for a Retry-After header: whole seconds, rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Ceil(d.Seconds())), 1), 10)
}

// AddrKey is the key of a client address: IPv4 whole, IPv6 by its /64 (which one
// subscriber usually holds whole).
func AddrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
