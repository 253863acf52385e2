package orders

import (
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/timeline"
)

// Comply reports the compliance of each network in o's scope with o at the time at
// (the rules are in docs/orders.md). tls are the (domain, network) timelines of the
// order's scope, built over [o.Effective-Lookback, at]; obs are the observations behind
// them. Timelines and observations of other domains or networks, per-probe timelines
// (Probe set) and observations outside [o.Effective, at) are ignored: the window of
// the timelines ends before at, as timeline.Build's does. It is pure: the same input gives
// the same report.
func Comply(o Order, tls []timeline.Timeline, obs []timeline.Obs, at time.Time) Report {
	byPair := map[pair]timeline.Timeline{}
	for _, t := range tls {
		if t.Probe == "" {
			byPair[pair{t.Domain, t.Network}] = t
		}
	}
	obsByPair := map[pair][]timeline.Obs{}
	for _, ob := range obs {
		if !ob.At.Before(o.Effective) && ob.At.Before(at) {
			p := pair{ob.Domain, ob.Network}
			obsByPair[p] = append(obsByPair[p], ob)
		}
	}
	r := Report{Order: o, At: at, Networks: make([]NetworkReport, 0, len(o.Networks))}
	statuses := make([]Status, 0, len(o.Networks))
	for _, n := range o.Networks {
		nr := NetworkReport{Network: n, Domains: make([]DomainReport, 0, len(o.Domains))}
		var latest time.Duration
		allEffect := true
		var counter []timeline.Obs
		var ds []Status
		for _, d := range o.Domains {
			t, ok := byPair[pair{d, n}]
			dr := complyDomain(o, d, t, ok, obsByPair[pair{d, n}], at)
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
		nr.Share = share(nr.Consistent, nr.Measurements)
		if allEffect {
			nr.TimeToEffectS = seconds(latest)
		}
		nr.Counter = newest(counter)
		r.Networks = append(r.Networks, nr)
		statuses = append(statuses, nr.Status)
	}
	r.Status = aggregate(statuses)
	return r
}

type pair struct{ domain, network string }

// complyDomain reports one domain on one network. obs are its observations in
// [Effective, at).
func complyDomain(o Order, domain string, t timeline.Timeline, haveTimeline bool, obs []timeline.Obs, at time.Time) DomainReport {
	dr := DomainReport{Domain: domain, Status: Unknown, Current: timeline.Unknown}
	due := o.Effective.Add(o.Grace)
	var counter []timeline.Obs
	for _, ob := range obs {
		if ob.At.Before(due) {
			continue
		}
		switch {
		case ob.Status == o.Expect:
			dr.Consistent++
			dr.Measurements++
		case decisive(ob.Status):
			dr.Measurements++
			dr.CounterTotal++
			counter = append(counter, ob)
		default:
			dr.Undecided++
		}
	}
	dr.Share = share(dr.Consistent, dr.Measurements)
	dr.Counter = newest(counter)
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
	case len(obs) > 0 && dr.Current == o.Expect && dr.Effect != nil:
		dr.Status = Compliant
	case at.Before(due):
		dr.Status = Pending
	case len(obs) == 0 || !decisive(dr.Current):
		dr.Status = Unknown
	default:
		dr.Status = NonCompliant
	}
	return dr
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

// newest returns at most MaxCounter observations, newest first (ties by ID, then
// domain), as a new slice.
func newest(obs []timeline.Obs) []timeline.Obs {
	out := slices.Clone(obs)
	slices.SortFunc(out, func(a, b timeline.Obs) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Domain, b.Domain)
	})
	if len(out) > MaxCounter {
		out = out[:MaxCounter]
	}
	if out == nil {
		out = []timeline.Obs{}
	}
	return out
}
