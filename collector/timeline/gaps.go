package timeline

import (
	"slices"
	"sort"
	"time"
)

// gapper turns the silences of one series (stretches longer than MaxSilence between two
// consecutive measurements, or between a window edge and the nearest measurement) into
// gaps. Each silence is tiled completely by gaps:
//   - no_heartbeat: a stretch longer than MaxSilence in which none of the series' probes
//     sent a heartbeat (the silence's own ends count as signs of life);
//   - no_measurement: the rest of the silence, where the probes were alive but did not
//     measure the pair. A rest no longer than MaxSilence is not a stretch of its own: it
//     joins the neighbouring no_heartbeat gap (the one before it, else the one after).
type gapper struct {
	max   time.Duration
	beats [][]time.Time // the heartbeat times of each of the series' probes, each sorted
	live  []time.Time   // scratch
	gaps  []Gap
}

// silence records the gaps of the silence from a to b (b-a > max).
func (g *gapper) silence(a, b time.Time) {
	g.live = append(g.live[:0], a)
	for _, bs := range g.beats {
		i := sort.Search(len(bs), func(i int) bool { return bs[i].After(a) })
		for ; i < len(bs) && bs[i].Before(b); i++ {
			g.live = append(g.live, bs[i])
		}
	}
	g.live = append(g.live, b)
	if len(g.beats) > 1 {
		slices.SortFunc(g.live[1:len(g.live)-1], time.Time.Compare)
	}
	start := len(g.gaps)
	cur := a // the start of the stretch not yet covered by a gap
	for i := 1; i < len(g.live); i++ {
		p, q := g.live[i-1], g.live[i]
		if q.Sub(p) <= g.max {
			continue
		}
		switch {
		case p.Sub(cur) > g.max:
			g.gaps = append(g.gaps, Gap{From: cur, To: p, Reason: GapNoMeasurement})
		case p.After(cur) && len(g.gaps) > start:
			g.gaps[len(g.gaps)-1].To = p // a short rest joins the previous no_heartbeat gap
		default:
			p = cur // a short rest (or none) at the start joins this gap
		}
		g.gaps = append(g.gaps, Gap{From: p, To: q, Reason: GapNoHeartbeat})
		cur = q
	}
	switch {
	case len(g.gaps) == start:
		g.gaps = append(g.gaps, Gap{From: a, To: b, Reason: GapNoMeasurement})
	case b.Sub(cur) > g.max:
		g.gaps = append(g.gaps, Gap{From: cur, To: b, Reason: GapNoMeasurement})
	case b.After(cur):
		g.gaps[len(g.gaps)-1].To = b
	}
}

// inGap reports the gap holding at: strictly between its ends (which are measurements,
// window edges or heartbeats), or at the boundary between two adjacent gaps.
func inGap(gaps []Gap, at time.Time) (Gap, bool) {
	// the first gap ending after at
	i := sort.Search(len(gaps), func(i int) bool { return gaps[i].To.After(at) })
	if i == len(gaps) {
		return Gap{}, false
	}
	g := gaps[i]
	if g.From.Before(at) {
		return g, true
	}
	if g.From.Equal(at) && i > 0 && gaps[i-1].To.Equal(at) {
		return g, true
	}
	return Gap{}, false
}
