package timeline

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// Changes returns the transitions of tls confirmed at or after since, sorted by Confirmed
// (then domain, network, probe). A transition confirmed late but starting earlier (At <
// since) is included: it became known after since.
func Changes(tls []Timeline, since time.Time) []Transition {
	out := []Transition{}
	for _, tl := range tls {
		for _, tr := range tl.Transitions {
			if !tr.Confirmed.Before(since) {
				out = append(out, tr)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Transition) int {
		return cmp.Or(a.Confirmed.Compare(b.Confirmed), cmp.Compare(a.Domain, b.Domain),
			cmp.Compare(a.Network, b.Network), cmp.Compare(a.Probe, b.Probe), a.At.Compare(b.At))
	})
	return out
}

// StateAt returns the period covering at: Since <= at < Until. It returns false before
// the first confirmed period, at or after the window's end, and inside a gap (where
// nothing was seen, so nothing is claimed, even though the period spans the gap).
func (t Timeline) StateAt(at time.Time) (Period, bool) {
	if _, ok := t.InGap(at); ok {
		return Period{}, false
	}
	// the first period starting after at; the one before it is the candidate
	i := sort.Search(len(t.Periods), func(i int) bool { return t.Periods[i].Since.After(at) })
	if i == 0 {
		return Period{}, false
	}
	p := t.Periods[i-1]
	if !at.Before(p.Until) {
		return Period{}, false
	}
	return p, true
}

// InGap returns the gap holding at: strictly between its From and To (which are the
// measurements, window edges or heartbeats bounding it), or exactly where two adjacent
// gaps meet.
func (t Timeline) InGap(at time.Time) (Gap, bool) {
	return inGap(t.Gaps, at)
}
