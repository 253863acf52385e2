package ratelimit

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestLimiterSteps(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		probe     string
		at        time.Duration // since t0
		wantOK    bool
		wantRetry time.Duration
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"burst then refusal then refill", 2, 3, []step{
			{"a", 0, true, 0},
			{"a", 0, true, 0},
			{"a", 0, true, 0},
			{"a", 0, false, 500 * time.Millisecond},
			{"a", 100 * time.Millisecond, false, 400 * time.Millisecond},
			{"a", 300 * time.Millisecond, false, 200 * time.Millisecond},
			{"a", 500 * time.Millisecond, true, 0},
			{"a", 500 * time.Millisecond, false, 500 * time.Millisecond},
			{"a", 10 * time.Second, true, 0}, // refilled to burst, not beyond
			{"a", 10 * time.Second, true, 0},
			{"a", 10 * time.Second, true, 0},
			{"a", 10 * time.Second, false, 500 * time.Millisecond},
		}},
		{"probes are independent", 1, 1, []step{
			{"a", 0, true, 0},
			{"a", 0, false, time.Second},
			{"b", 0, true, 0},
			{"b", 0, false, time.Second},
			{"a", time.Second, true, 0},
		}},
		{"clock going backwards adds nothing", 1, 1, []step{
			{"a", 5 * time.Second, true, 0},
			{"a", 0, false, time.Second},
			{"a", 5 * time.Second, false, time.Second},
			{"a", 6 * time.Second, true, 0},
		}},
		{"slow rate", 1.0 / 60, 1, []step{
			{"a", 0, true, 0},
			{"a", 15 * time.Second, false, 45 * time.Second},
		}},
		{"disabled by rate", 0, 5, []step{
			{"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0}, {"a", 0, true, 0},
		}},
		{"disabled by burst", 1, 0, []step{
			{"a", 0, true, 0}, {"a", 0, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.rate, tt.burst, 10)
			for i, s := range tt.steps {
				ok, retry := l.Allow(s.probe, t0.Add(s.at))
				if ok != s.wantOK || retry != s.wantRetry {
					t.Errorf("step %d (%s at %v): Allow = %v, %v; want %v, %v", i, s.probe, s.at, ok, retry, s.wantOK, s.wantRetry)
				}
			}
		})
	}
}

func TestLimiterEviction(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	l := New(1, 1, 3)
	for i := range 100 {
		l.Allow(fmt.Sprintf("p%d", i), t0)
		if n := l.Len(); n > 3 {
			t.Fatalf("after %d probes Len = %d, want ≤ 3", i+1, n)
		}
	}
	if n := l.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	// p97..p99 are tracked (empty buckets); touching p97 makes p98 the least recent.
	if ok, _ := l.Allow("p97", t0); ok {
		t.Error("p97 allowed again: its bucket was forgotten")
	}
	l.Allow("new", t0) // evicts p98
	if ok, _ := l.Allow("p99", t0); ok {
		t.Error("p99 allowed again: the wrong probe was evicted")
	}
	if ok, _ := l.Allow("p98", t0); !ok {
		t.Error("p98 refused: it should have been evicted and start full")
	}
	if New(1, 1, 0).max != DefaultMaxKeys {
		t.Error("maxKeys 0 does not default")
	}
	var nilL *Limiter
	if ok, _ := nilL.Allow("x", t0); !ok || nilL.Len() != 0 {
		t.Error("nil Limiter refused")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	l := New(1, 50, 1000)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if ok, _ := l.Allow("a", t0); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("%d of 200 simultaneous requests allowed, want the burst of 50", allowed)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "1"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Millisecond, "2"},
		{90 * time.Second, "90"},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.d); got != tt.want {
			t.Errorf("RetryAfter(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestRetryRounding: the wait is rounded up to the nanosecond, but float error of a
// fraction of a nanosecond does not add one (then Retry-After would say 3 for 2 s).
func TestRetryRounding(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate  float64
		after time.Duration // since the one token was taken
		want  time.Duration
	}{
		{1.0 / 60, 15 * time.Second, 45 * time.Second},
		{1.0 / 3, time.Second, 2 * time.Second},
		{0.1, 3 * time.Second, 7 * time.Second},
		{3, 0, 333333334 * time.Nanosecond}, // a third of a second, rounded up
	}
	for _, tt := range tests {
		l := New(tt.rate, 1, 1)
		l.Allow("a", t0)
		if ok, got := l.Allow("a", t0.Add(tt.after)); ok || got != tt.want || RetryAfter(got) != RetryAfter(tt.want) {
			t.Errorf("rate %g, %v after: Allow = %v, %v; want false, %v", tt.rate, tt.after, ok, got, tt.want)
		}
	}
}

func TestAddrKey(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := AddrKey(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("AddrKey(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
