package web

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// Cell classes beyond the timeline states: no coverage at all in the cell.
const gapClass = "gap"

// Steps a heatmap may use, by their query value.
var steps = map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// maxCells bounds a heatmap row, so one request cannot ask for a million cells.
const maxCells = 800

// Cell is one heatmap cell: the state that held for most of its covered time.
type Cell struct {
	From, To time.Time
	// State is a timeline state, or "gap" when nothing in the cell was covered.
	State  string
	Method string // the blocking method, when State is blocked
	// Partial: part of the cell (not all of it) had no coverage.
	Partial bool
	// Share of each state (and of "gap") in the cell, in the order shown in its label.
	Parts []Part
	// Mark is "eff" or "due" when an order took effect, or was due, in the cell.
	Mark string
}

// Part is how long one state (or a gap) lasted in a cell.
type Part struct {
	State string
	D     time.Duration
}

// Row is one network's cells.
type Row struct {
	Network string
	ASN     uint32 // 0: unknown
	Current timeline.State
	Cells   []Cell
}

// interval is a half-open time range [from, to).
type interval struct{ from, to time.Time }

func (a interval) clip(b interval) (interval, bool) {
	from, to := maxTime(a.from, b.from), minTime(a.to, b.to)
	return interval{from, to}, from.Before(to)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// grid returns the cell boundaries covering [from, to) in steps of step, aligned to step
// in zone z: hours and days start on the zone's hour and midnight, weeks on Monday.
func grid(from, to time.Time, step time.Duration, z *time.Location) ([]interval, error) {
	start := alignStart(from, step, z)
	if !start.Before(to) {
		return nil, fmt.Errorf("from: %s is not before to: %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	var out []interval
	for f := start; f.Before(to); f = next(f, step, z) {
		if len(out) == maxCells {
			n := len(out) + int((to.Sub(f)+step-1)/step)
			return nil, fmt.Errorf("step: %s over %s makes %d cells (at most %d): choose a longer step or a shorter range", fmtStep(step), to.Sub(start), n, maxCells)
		}
		out = append(out, interval{f, next(f, step, z)})
	}
	return out, nil
}

// alignStart is the start of the cell holding t.
func alignStart(t time.Time, step time.Duration, z *time.Location) time.Time {
	lt := t.In(z)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, z)
	switch {
	case step >= 7*24*time.Hour:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)).UTC()
	case step >= 24*time.Hour:
		return day.UTC()
	}
	_, off := lt.Zone()
	shift := time.Duration(off) * time.Second
	return t.Add(shift).Truncate(step).Add(-shift).UTC()
}

// next is the start of the cell after the one starting at f: a calendar day or week in
// z for day steps (23 or 25 hours across a change of summer time), step otherwise.
func next(f time.Time, step time.Duration, z *time.Location) time.Time {
	if step >= 24*time.Hour && step%(24*time.Hour) == 0 {
		return f.In(z).AddDate(0, 0, int(step/(24*time.Hour))).UTC()
	}
	return f.Add(step)
}

func fmtStep(d time.Duration) string {
	for k, v := range steps {
		if v == d {
			return k
		}
	}
	return d.String()
}

// rows builds one row per timeline, sorted by network.
func rows(tls []timeline.Timeline, cells []interval) []Row {
	out := make([]Row, 0, len(tls))
	for _, tl := range tls {
		r := Row{Network: tl.Network, Current: tl.Current, Cells: make([]Cell, len(cells))}
		gaps := mergeGaps(tl.Gaps)
		for i, c := range cells {
			r.Cells[i] = cellOf(tl, gaps, c)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out
}

// mergeGaps sorts gaps and joins overlapping ones.
func mergeGaps(gs []timeline.Gap) []interval {
	iv := make([]interval, 0, len(gs))
	for _, g := range gs {
		if g.From.Before(g.To) {
			iv = append(iv, interval{g.From, g.To})
		}
	}
	slices.SortFunc(iv, func(a, b interval) int { return a.from.Compare(b.from) })
	var out []interval
	for _, g := range iv {
		if n := len(out); n > 0 && !g.from.After(out[n-1].to) {
			out[n-1].to = maxTime(out[n-1].to, g.to)
			continue
		}
		out = append(out, g)
	}
	return out
}

// covered returns the parts of c inside the timeline's window and outside every gap.
func covered(tl timeline.Timeline, gaps []interval, c interval) []interval {
	w, ok := c.clip(interval{tl.From, tl.To})
	if !ok {
		return nil
	}
	var out []interval
	at := w.from
	for _, g := range gaps {
		if !g.to.After(at) {
			continue
		}
		if !g.from.Before(w.to) {
			break
		}
		if g.from.After(at) {
			out = append(out, interval{at, g.from})
		}
		at = maxTime(at, g.to)
	}
	if at.Before(w.to) {
		out = append(out, interval{at, w.to})
	}
	return out
}

// stateRank breaks ties between states that held equally long: the more notable wins.
var stateRank = map[string]int{
	string(timeline.Blocked): 0, string(timeline.Down): 1, string(timeline.Inconclusive): 2,
	string(timeline.Accessible): 3, string(timeline.Unknown): 4, gapClass: 5,
}

// cellOf decides the cell c of tl: the state that held for most of the covered time (time
// before the first confirmed period is unknown); a gap when nothing of it was covered.
// Gaps are never counted as a state.
func cellOf(tl timeline.Timeline, gaps []interval, c interval) Cell {
	cell := Cell{From: c.from, To: c.to}
	dur := map[string]time.Duration{}
	method := map[string]time.Duration{}
	var cov time.Duration
	for _, seg := range covered(tl, gaps, c) {
		cov += seg.to.Sub(seg.from)
		rest := seg.to.Sub(seg.from)
		for _, p := range tl.Periods {
			o, ok := seg.clip(interval{p.Since, p.Until})
			if !ok {
				continue
			}
			d := o.to.Sub(o.from)
			dur[string(p.State)] += d
			rest -= d
			if p.State == timeline.Blocked && p.Method != "" {
				method[p.Method] += d
			}
		}
		if rest > 0 {
			dur[string(timeline.Unknown)] += rest
		}
	}
	if g := c.to.Sub(c.from) - cov; g > 0 {
		dur[gapClass] = g
		cell.Partial = cov > 0
	}
	for s, d := range dur {
		cell.Parts = append(cell.Parts, Part{s, d})
	}
	slices.SortFunc(cell.Parts, func(a, b Part) int {
		if c := cmp.Compare(b.D, a.D); c != 0 {
			return c
		}
		return stateRank[a.State] - stateRank[b.State]
	})
	cell.State = gapClass
	for _, p := range cell.Parts {
		if p.State != gapClass {
			cell.State = p.State
			break
		}
	}
	if cell.State == string(timeline.Blocked) {
		cell.Method = topKey(method)
	}
	return cell
}

// topKey returns the key with the largest value (ties: the smallest key), "" if none.
func topKey(m map[string]time.Duration) string {
	best := ""
	for k, v := range m {
		if best == "" || v > m[best] || v == m[best] && k < best {
			best = k
		}
	}
	return best
}
