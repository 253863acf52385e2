package web

import (
	"context"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
)

// summaries keeps the compliance reports behind the heatmap's order lines (one line per
// order naming the heatmap's domain), each for summaryTTL. A line needs the order's
// whole compliance report (a few hundred milliseconds for a month of a fleet), and every
// view of the heatmap, its CSV, JSON and PNG asked for it again. A report that is reused
// lags what was ingested since by at most summaryTTL; an uploaded order drops them all.
type summaries struct {
	mu sync.Mutex
	m  map[summaryKey]summary
}

// summaryTTL is how long a report is reused; the heatmap asks for "now" at the start of
// the minute, so that its views within a minute share one report.
const summaryTTL = time.Minute

// summaryMax bounds the reports kept; past it the expired ones are dropped.
const summaryMax = 256

type summaryKey struct {
	order string
	at    time.Time
}

type summary struct {
	rep  orders.Report
	made time.Time
}

// compliance is Data.Compliance through the summaries: a report made less than
// summaryTTL before now is reused; a failed one is not kept.
func (h *dash) compliance(ctx context.Context, id string, at, now time.Time) (orders.Report, error) {
	k := summaryKey{order: id, at: at}
	s := &h.summaries
	s.mu.Lock()
	if got, ok := s.m[k]; ok && now.Sub(got.made) < summaryTTL {
		s.mu.Unlock()
		return got.rep, nil
	}
	s.mu.Unlock()
	rep, err := h.data.Compliance(ctx, id, at)
	if err != nil {
		return rep, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= summaryMax {
		s.drop(now)
	}
	s.m[k] = summary{rep: rep, made: now}
	return rep, nil
}

// drop forgets the expired reports, or all of them when none has expired. Called with
// s.mu held.
func (s *summaries) drop(now time.Time) {
	n := len(s.m)
	for k, v := range s.m {
		if now.Sub(v.made) >= summaryTTL {
			delete(s.m, k)
		}
	}
	if s.m == nil || len(s.m) == n {
		s.m = map[summaryKey]summary{}
	}
}

// forget drops every report kept (an order was uploaded).
func (s *summaries) forget() {
	s.mu.Lock()
	s.m = nil
	s.mu.Unlock()
}
