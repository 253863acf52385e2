package orders

import (
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// Comply reports the compliance of each network in o's scope with o at the time at
// (the rules are in docs/orders.md). tls are the (domain, network) timelines of the
// order's scope, built over [o.Effective-Lookback, at]; obs are the observations behind
// them. Timelines and observations of other domains or networks, per-probe timelines
// (Probe set) and observations outside [o.Effective, at) are ignored: the window of
// the timelines ends before at, as timeline.Build's does. It is pure: the same input gives
// the same report.
func Comply(o Order, tls []timeline.Timeline, obs []timeline.Obs, at time.Time) Report {
	return ComplyChunks(o, tls, [][]timeline.Obs{obs}, at)
}

// ComplyChunks is Comply on observations held in several slices (as the collector's report
// cache keeps them), read in place: the report is Comply's on their concatenation.
func ComplyChunks(o Order, tls []timeline.Timeline, obs [][]timeline.Obs, at time.Time) Report {
	byPair := map[pair]timeline.Timeline{}
	for _, t := range tls {
		if t.Probe == "" {
			byPair[pair{t.Domain, t.Network}] = t
		}
	}
	accs := tally(o, obs, at)
	r := Report{Order: o, At: at, Networks: make([]NetworkReport, 0, len(o.Networks))}
	statuses := make([]Status, 0, len(o.Networks))
	for _, n := range o.Networks {
		nr := NetworkReport{Network: n, Domains: make([]DomainReport, 0, len(o.Domains))}
		var latest time.Duration
		allEffect := true
		var counter []timeline.Obs
		var ds []Status
		probed := networkProbed(o, n, byPair, accs)
		for _, d := range o.Domains {
			t, ok := byPair[pair{d, n}]
			dr := complyDomain(o, d, t, ok, accs[pair{d, n}], at)
			if dr.Status == Unknown && !probed {
				dr.Reason, dr.ReasonText = NoProbe, NoProbe.Text()
			}
			nr.Domains = append(nr.Domains, dr)
			ds = append(ds, dr.Status)
			nr.Consistent += dr.Consistent
			nr.Measurements += dr.Measurements
			nr.Undecided += dr.Undecided
			nr.CounterTotal += dr.CounterTotal
			counter = append(counter, dr.Counter...)
			if dr.Effect == nil {
				allEffect = false
			} else if e := dr.Effect.Sub(o.Effective); e > latest {
				latest = e
			}
		}
		nr.Status = aggregate(ds)
		networkWhy(&nr)
		nr.Share = share(nr.Consistent, nr.Measurements)
		if allEffect {
			nr.TimeToEffectS = seconds(latest)
		}
		nr.Counter = newest(counter)
		r.Networks = append(r.Networks, nr)
		statuses = append(statuses, nr.Status)
	}
	r.Status = aggregate(statuses)
	r.setLocal()
	return r
}

type pair struct{ domain, network string }

// complyDomain reports one domain on one network from its timeline and the tally of
// its observations (nil if none).
func complyDomain(o Order, domain string, t timeline.Timeline, haveTimeline bool, c *acc, at time.Time) DomainReport {
	dr := DomainReport{Domain: domain, Status: Unknown, Current: timeline.Unknown, Counter: []timeline.Obs{}}
	due := o.Effective.Add(o.Grace)
	if c == nil {
		c = &acc{}
	}
	dr.Consistent, dr.Measurements, dr.Undecided, dr.CounterTotal = c.consistent, c.consistent+c.counterTotal, c.undecided, c.counterTotal
	dr.Share = share(dr.Consistent, dr.Measurements)
	if c.counter != nil {
		dr.Counter = c.counter
	}
	var current *timeline.Period
	if haveTimeline {
		for i := range t.Periods {
			p := &t.Periods[i]
			if !p.Confirmed.Before(at) {
				break
			}
			current = p
			if dr.Effect == nil && p.State == o.Expect && !p.LastSeen.Before(o.Effective) {
				e := p.Since
				if e.Before(o.Effective) {
					e = o.Effective // in the expected state already when the order took effect
				}
				dr.Effect = &e
				dr.TimeToEffectS = seconds(e.Sub(o.Effective))
			}
		}
		for _, g := range t.Gaps {
			if g.To.After(o.Effective) && !g.From.After(at) {
				dr.Gaps++
			}
		}
	}
	if current != nil {
		dr.Current = current.State
	}
	switch {
	case c.since > 0 && dr.Current == o.Expect && dr.Effect != nil:
		dr.Status = Compliant
	case at.Before(due):
		dr.Status = Pending
	case c.since == 0 || !decisive(dr.Current):
		dr.Status = Unknown
		dr.Reason = unknownReason(c)
		dr.ReasonText = dr.Reason.Text()
	default:
		dr.Status = NonCompliant
	}
	if dr.Status == Compliant {
		dr.LateByS, dr.Late = lateness(*dr.Effect, due)
	}
	return dr
}

// unknownReason tells why a domain whose status is unknown is so, from its tally.
func unknownReason(c *acc) Reason {
	switch {
	case c.since == 0:
		return NotMeasured
	case c.decisiveSince == 0:
		return OnlyUndecided
	}
	return NotDecisive
}

// networkProbed reports whether network n has a timeline or a measurement since the order
// for any of o's domains.
func networkProbed(o Order, n string, byPair map[pair]timeline.Timeline, accs map[pair]*acc) bool {
	for _, d := range o.Domains {
		if _, ok := byPair[pair{d, n}]; ok {
			return true
		}
		if c := accs[pair{d, n}]; c != nil && c.since > 0 {
			return true
		}
	}
	return false
}

// networkWhy sets a network's lateness (compliant: its latest domain's) or reason
// (unknown: its first unknown domain's).
func networkWhy(nr *NetworkReport) {
	for _, dr := range nr.Domains {
		switch {
		case nr.Status == Compliant && dr.LateByS != nil && (nr.LateByS == nil || *dr.LateByS > *nr.LateByS):
			nr.LateByS, nr.Late = dr.LateByS, dr.Late
		case nr.Status == Unknown && dr.Status == Unknown && nr.Reason == "":
			nr.Reason, nr.ReasonText = dr.Reason, dr.ReasonText
		}
	}
}

// acc tallies the observations of one (domain, network) pair.
type acc struct {
	since         int            // observations in [Effective, at)
	decisiveSince int            // of those, accessible or blocked
	consistent    int            // from the due time: with the expected status
	undecided     int            // from the due time: down or inconclusive
	counterTotal  int            // from the due time: with the other decisive status
	counter       []timeline.Obs // the newest counter-evidence, at most MaxCounter, newest first
}

// tally counts the observations of the order's scope in [Effective, at) in one pass.
func tally(o Order, chunks [][]timeline.Obs, at time.Time) map[pair]*acc {
	inScope := map[pair]*acc{}
	for _, d := range o.Domains {
		for _, n := range o.Networks {
			inScope[pair{d, n}] = &acc{}
		}
	}
	due := o.Effective.Add(o.Grace)
	for _, obs := range chunks {
		for i := range obs {
			ob := &obs[i]
			if ob.At.Before(o.Effective) || !ob.At.Before(at) {
				continue
			}
			c := inScope[pair{ob.Domain, ob.Network}]
			if c == nil {
				continue
			}
			c.since++
			if decisive(ob.Status) {
				c.decisiveSince++
			}
			if ob.At.Before(due) {
				continue
			}
			switch {
			case ob.Status == o.Expect:
				c.consistent++
			case decisive(ob.Status):
				c.counterTotal++
				c.counter = keepNewest(c.counter, *ob)
			default:
				c.undecided++
			}
		}
	}
	return inScope
}

// keepNewest inserts ob into s, newest first, keeping at most MaxCounter.
func keepNewest(s []timeline.Obs, ob timeline.Obs) []timeline.Obs {
	i, _ := slices.BinarySearchFunc(s, ob, newerFirst)
	if i >= MaxCounter {
		return s
	}
	if len(s) == MaxCounter {
		s = s[:MaxCounter-1]
	}
	return slices.Insert(s, i, ob)
}

// newerFirst orders observations newest first, then by ID and domain.
func newerFirst(a, b timeline.Obs) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return strings.Compare(a.Domain, b.Domain)
}

// decisive reports whether a state says something about an order: accessible or blocked.
func decisive(s timeline.State) bool { return s == timeline.Accessible || s == timeline.Blocked }

// aggregate combines statuses: non-compliant if any is, else pending if any is, else
// unknown if any is, else compliant.
func aggregate(ss []Status) Status {
	for _, s := range []Status{NonCompliant, Pending, Unknown} {
		if slices.Contains(ss, s) {
			return s
		}
	}
	if len(ss) == 0 {
		return Unknown
	}
	return Compliant
}

// share is consistent/total, 0 when there is nothing to count.
func share(consistent, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(consistent) / float64(total)
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// newest returns at most MaxCounter of obs, newest first, as a new slice.
func newest(obs []timeline.Obs) []timeline.Obs {
	out := slices.Clone(obs)
	slices.SortFunc(out, newerFirst)
	if len(out) > MaxCounter {
		out = out[:MaxCounter]
	}
	if out == nil {
		out = []timeline.Obs{}
	}
	return out
}
