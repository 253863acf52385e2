package auth

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// DefaultMaxProbes is the number of probes a Limiter tracks when NewLimiter is given
// maxProbes ≤ 0.
const DefaultMaxProbes = 10000

// Limiter is a token bucket per probe: each probe may make burst requests at once and
// perSecond on average. It tracks at most maxProbes probes; when a new probe arrives at
// that bound the least recently seen one is forgotten (it starts again with a full
// bucket, so keep maxProbes above the fleet's size). Safe for concurrent use; a nil
// *Limiter allows everything.
type Limiter struct {
	rate  float64 // tokens per second; 0: unlimited
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently seen
}

type bucket struct {
	probe  string
	tokens float64
	last   time.Time
}

// NewLimiter returns a Limiter. perSecond ≤ 0 or burst ≤ 0 disables limiting.
func NewLimiter(perSecond float64, burst int, maxProbes int) *Limiter {
	if maxProbes <= 0 {
		maxProbes = DefaultMaxProbes
	}
	l := &Limiter{max: maxProbes, buckets: map[string]*list.Element{}}
	if perSecond > 0 && burst > 0 && !math.IsInf(perSecond, 1) && !math.IsNaN(perSecond) {
		l.rate, l.burst = perSecond, float64(burst)
	}
	return l
}

// Allow takes one token from probe's bucket at now. When the bucket is empty it returns
// false and how long until a token is there (always > 0). A clock that goes backwards
// adds no tokens.
func (l *Limiter) Allow(probe string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil || l.rate == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(probe, now)
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	// Round up to the nanosecond, forgiving float error of a fraction of one.
	wait := time.Duration(math.Ceil((1-b.tokens)/l.rate*float64(time.Second) - 1e-3))
	return false, max(wait, time.Nanosecond)
}

// Len returns the number of probes tracked.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// get returns probe's bucket, creating a full one (and evicting the least recently seen
// probe at the bound) if needed. l.mu must be held.
func (l *Limiter) get(probe string, now time.Time) *bucket {
	if e, ok := l.buckets[probe]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if len(l.buckets) >= l.max {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).probe)
	}
	b := &bucket{probe: probe, tokens: l.burst, last: now}
	l.buckets[probe] = l.lru.PushFront(b)
	return b
}
