package control

import (
	"container/list"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate limit defaults for anonymous clients, per client address.
const (
	// DefaultRate is the requests per second an anonymous client address may make on
	// average: about what one probe measuring 32 targets at once asks.
	DefaultRate = 10
	// DefaultBurst is how many requests it may make at once: well under the default
	// queue (MaxConcurrent + MaxQueue = 80), so one address cannot fill it.
	DefaultBurst = 32
	// maxClients bounds the addresses the limiter tracks; past it the least recently
	// seen one is forgotten (and starts again with a full bucket).
	maxClients = 10000
)

// limiter is a token bucket per client key. Safe for concurrent use; a nil *limiter
// allows everything.
type limiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently seen
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter, or nil (no limit) when rate or burst is not positive.
func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if !(rate > 0) || burst <= 0 || math.IsInf(rate, 1) {
		return nil
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*list.Element{}}
}

// allow takes a token from key's bucket. When it is empty it returns false and how long
// until a token is there (> 0). A clock that goes backwards adds no tokens.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
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
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, max(wait, time.Nanosecond)
}

// get returns key's bucket, creating a full one (and forgetting the least recently seen
// key at the bound) if needed. l.mu must be held.
func (l *limiter) get(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if len(l.buckets) >= maxClients {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// retryAfter formats d for a Retry-After header: whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Ceil(d.Seconds())), 1), 10)
}

// clientAddr is the address a request comes from: the connection's peer, or, when the
// peer is a trusted reverse proxy, the right-most X-Forwarded-For entry that is not a
// trusted proxy (entries further left are the client's own word). The zero Addr when
// nothing parses.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !inPrefixes(peer, trusted) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHost(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			break // not an address: the chain of proxies is broken here
		}
		if !inPrefixes(a, trusted) {
			return a
		}
	}
	return peer
}

// parseHost parses "ADDR" or "ADDR:PORT" ("[v6]:port"), dropping any zone.
func parseHost(s string) netip.Addr {
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// clientKey is the rate-limit key of an address: IPv4 whole, IPv6 by /64 (one
// subscriber's network).
func clientKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Metrics counts the handler's answers that are not observations. Its fields are safe for
// concurrent use; give one to HandlerOptions.Metrics to read them.
type Metrics struct {
	Unauthorized atomic.Int64 // 401: missing credential where one is required, or a bad one
	RateLimited  atomic.Int64 // 429: an anonymous client address over its rate
	Busy         atomic.Int64 // 503: too many observations running and queued
}

// WritePrometheus writes the counters in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# HELP pantau_control_refused_total Control requests refused, by reason.\n")
	b.WriteString("# TYPE pantau_control_refused_total counter\n")
	for _, c := range []struct {
		reason string
		n      *atomic.Int64
	}{{"unauthorized", &m.Unauthorized}, {"rate_limited", &m.RateLimited}, {"busy", &m.Busy}} {
		b.WriteString(`pantau_control_refused_total{reason="` + c.reason + `"} ` + strconv.FormatInt(c.n.Load(), 10) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
