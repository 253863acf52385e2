package cli

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func verdict(status string) *measurement.Measurement {
	return &measurement.Measurement{Verdict: measurement.Verdict{Status: status}}
}

// TestProgress checks the progress line (on a terminal only), its throttling, and the
// summary, with a clock the test moves.
func TestProgress(t *testing.T) {
	type step struct {
		after  time.Duration
		status string
	}
	steps := []step{{50 * time.Millisecond, "accessible"}, {1150 * time.Millisecond, "blocked"}, {61 * time.Second, "inconclusive"}}
	for _, tc := range []struct {
		name  string
		live  bool
		total int
		want  string
	}{
		{"terminal", true, 3, "\rprobe measure: 0/3 targets, 0s elapsed\x1b[K" +
			// The first completion comes within redrawEvery of the last line: not drawn.
			"\rprobe measure: 2/3 targets, 1.2s elapsed\x1b[K" +
			"\rprobe measure: 3/3 targets, 1m2s elapsed\x1b[K" +
			"\r\x1b[K" +
			"probe measure: 3 targets in 1m2s: 1 accessible, 1 blocked, 0 down, 1 inconclusive\n"},
		{"not a terminal", false, 3, "probe measure: 3 targets in 1m2s: 1 accessible, 1 blocked, 0 down, 1 inconclusive\n"},
		{"interrupted", false, 5, "probe measure: 3 of 5 targets in 1m2s: 1 accessible, 1 blocked, 0 down, 1 inconclusive\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)}
			var b strings.Builder
			p := newProgress(&b, tc.total, tc.live, clk.now)
			for _, s := range steps {
				clk.add(s.after)
				p.add(verdict(s.status))
			}
			p.finish()
			p.summary()
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}

// TestProgressOne checks the summary of a single target.
func TestProgressOne(t *testing.T) {
	clk := &clock{t: time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)}
	var b strings.Builder
	p := newProgress(&b, 1, false, clk.now)
	clk.add(2500 * time.Millisecond)
	p.add(verdict("down"))
	p.finish()
	p.summary()
	if want := "probe measure: 1 target in 2.5s: 0 accessible, 0 blocked, 1 down, 0 inconclusive\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// TestProgressTicker checks that run keeps the line going and finish erases it.
func TestProgressTicker(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, 1, true, time.Now)
	p.run()
	p.finish()
	if got := b.String(); !strings.HasPrefix(got, "\rprobe measure: 0/1 targets, 0s elapsed\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("%q", got)
	}
}
