package control

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Stats counts what a Client saw since it was made: how often helpers were saturated,
// and the targets left without a control, by cause. `probe measure` prints them at the
// end of a run; the agent reports Busy and Failed in its heartbeats.
type Stats struct {
	Targets  int64 // Control calls
	Attempts int64 // requests sent to helpers
	// Busy counts the answers 429 and 503: a helper saturated, or limiting this probe.
	Busy int64
	// Retried counts the targets that needed more than one attempt.
	Retried int64
	// Failed counts the targets no helper answered (Failure control_unavailable);
	// Reasons splits them by their last attempt's failure (e.g. control_http_status_503).
	Failed  int64
	Reasons map[string]int64
	// NotFound lists the helpers that answered 404: URLs that are not a control endpoint.
	NotFound []string
}

// Stats returns a copy of the client's counts.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Reasons = maps.Clone(c.stats.Reasons)
	s.NotFound = nil
	for i := range c.helpers {
		if c.notFound[i] {
			s.NotFound = append(s.NotFound, c.helpers[i].name)
		}
	}
	return s
}

// count adds one finished Control call to the stats; last is the failure of its last
// attempt when no helper answered.
func (c *Client) count(out *measurement.Control, last string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Targets++
	c.stats.Attempts += int64(len(out.Attempts))
	if len(out.Attempts) > 1 {
		c.stats.Retried++
	}
	if out.Failure != nil {
		c.stats.Failed++
		if last == "" {
			last = reasonNotAsked
		}
		c.stats.Reasons[last]++
	}
}

// Summary tells the failed targets for people, most frequent cause first: "12 of 1000
// targets without a control: 10 control_http_status_503 (helper busy), 2
// generic_timeout_error". Empty when none failed.
func (s Stats) Summary() string {
	if s.Failed == 0 {
		return ""
	}
	causes := slices.SortedFunc(maps.Keys(s.Reasons), func(a, b string) int {
		if s.Reasons[a] != s.Reasons[b] {
			return int(s.Reasons[b] - s.Reasons[a])
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, r := range causes {
		parts = append(parts, fmt.Sprintf("%d %s%s", s.Reasons[r], r, hint(r)))
	}
	return fmt.Sprintf("%d of %d targets without a control: %s", s.Failed, s.Targets, strings.Join(parts, ", "))
}

// reasonNotAsked is the reason of a target whose deadline left no time to ask a helper:
// every one was in its Retry-After.
const reasonNotAsked = "not_asked_helpers_busy"

// hint explains the failures people can act on.
func hint(f string) string {
	switch f {
	case reasonNotAsked:
		return " (every helper was busy until the target's deadline)"
	case failureStatusPrefix + "429":
		return " (rate limited by the helper: use a token, or ask its operator)"
	case failureStatusPrefix + "503":
		return " (helper busy: add helpers, lower --concurrency or raise the helper's --max-concurrent)"
	case failureStatusPrefix + "404":
		return " (not a control endpoint: check the --control URL)"
	case failureStatusPrefix + "401", failureStatusPrefix + "403":
		return " (refused: check the control token)"
	}
	return ""
}
