package web

import (
	"context"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// pieceData answers timeline queries as the report service does for a network blocked
// throughout whose state takes 3 hours to confirm at the start of every query, and
// that is missing from the queries starting in [absentFrom, absentTo).
type pieceData struct {
	Data
	queries              []report.Query
	absentFrom, absentTo time.Time
}

func (p *pieceData) Timelines(_ context.Context, q report.Query) ([]timeline.Timeline, error) {
	p.queries = append(p.queries, q)
	out := []timeline.Timeline{{Network: "XL Axiata", From: q.From, To: q.To, Current: timeline.Blocked,
		Periods: []timeline.Period{{State: timeline.Blocked, Method: "dns", Since: q.From.Add(3 * time.Hour), Until: q.To}}}}
	if !q.From.Before(p.absentFrom) && q.From.Before(p.absentTo) {
		return nil, nil
	}
	return out, nil
}

func (p *pieceData) Orders() []orders.Order { return nil }

// TestTimelinesInPieces: a year is asked for in pieces of at most report.MaxRange that
// cover it; each piece starts early enough for states to carry over its start, and a
// piece in which a network was not seen is a gap.
func TestTimelinesInPieces(t *testing.T) {
	from := time.Date(2016, 7, 20, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	d := &pieceData{absentFrom: from.AddDate(0, 5, 0), absentTo: from.AddDate(0, 6, 0)}
	h := &dash{data: d}
	tls, err := h.timelines(context.Background(), "t.me", from, to)
	if err != nil {
		t.Fatal(err)
	}
	at := from
	for i, q := range d.queries {
		if q.To.Sub(q.From) > report.MaxRange || q.From.After(at) {
			t.Errorf("query %d: %s to %s (longer than %s, or leaving %s out)", i, q.From, q.To, report.MaxRange, at)
		}
		at = q.To
	}
	if len(d.queries) < 5 || !at.Equal(to) || len(tls) != 1 {
		t.Fatalf("%d queries up to %s, %d timelines", len(d.queries), at, len(tls))
	}
	cells, err := grid(from, to, 24*time.Hour, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	gaps, unknown := 0, 0
	r := rows(tls, cells)[0]
	for i, c := range r.Cells {
		for _, p := range c.Parts {
			if p.State == "unknown" && i > 0 {
				unknown++
			}
		}
		if c.State == gapClass {
			gaps++
		} else if c.State != "blocked" {
			t.Errorf("cell %s: %s", c.From.Format(time.DateOnly), c.State)
		}
	}
	// The absent piece (about 89 days, starting within the sixth month) is a gap; no
	// piece starts with unconfirmed hours.
	if gaps < 80 || gaps > 95 || unknown != 0 {
		t.Errorf("%d gap cells, %d cells with unknown time; want one piece of gaps and no unknown time", gaps, unknown)
	}
}
