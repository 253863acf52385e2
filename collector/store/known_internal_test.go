package store

import (
	"crypto/sha256"
	"testing"
	"time"
)

// TestLearn: what a store writes for a probe is added to what it knows of the probe while
// that is trusted or its look-up is in flight; a failed write, or a write after the
// knowledge expired, forgets the probe, so that nothing grows past Config.Known.
func TestLearn(t *testing.T) {
	now := time.Now()
	check := func(id string) itemCheck {
		return itemCheck{probe: "p", id: id, key: "p\x00" + id, sum: sha256.Sum256([]byte(id)), ms: now}
	}
	for _, tc := range []struct {
		name    string
		until   time.Time // zero: the look-up is in flight
		written bool
		at      time.Time
		kept    bool
	}{
		{"trusted, written", now.Add(time.Second), true, now, true},
		{"in flight, written", time.Time{}, true, now, true},
		{"trusted, the write failed", now.Add(time.Second), false, now, false},
		{"in flight, the write failed", time.Time{}, false, now, false},
		{"expired, written", now.Add(time.Second), true, now.Add(2 * time.Second), false},
	} {
		g := newGuard(10)
		k := g.begin("p", now.Add(-time.Second), now.Add(time.Minute))
		if !tc.until.IsZero() {
			g.install("p", k, map[string][]string{"old": {"sum"}}, tc.until, false)
		}
		g.mu.Lock()
		g.learn(check("new"), tc.written, tc.at)
		got := g.known["p"]
		g.mu.Unlock()
		switch {
		case !tc.kept && got != nil:
			t.Errorf("%s: the probe is still known", tc.name)
		case tc.kept && (got == nil || len(got.ids["new"]) != 1 || got.ids["new"][0] != hexSum(check("new").sum)):
			t.Errorf("%s: known %+v, want the new measurement in it", tc.name, got)
		}
	}
}
