package orders

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// eff is the Effective time of the test orders; h(n) is n hours after it.
var eff = time.Date(2017, 7, 13, 17, 0, 0, 0, time.UTC)

func h(n float64) time.Time { return eff.Add(time.Duration(n * float64(time.Hour))) }

const (
	A = timeline.Accessible
	B = timeline.Blocked
	D = timeline.Down
	I = timeline.Inconclusive
)

// testOrder expects domains blocked on networks from eff, with a grace of 2 h.
func testOrder(domains, networks []string) Order {
	return Order{ID: "test", Authority: "A", Reference: "R", Domains: domains, Expect: B, Effective: eff,
		Grace: 2 * time.Hour, Networks: networks}
}

// run is observations of domain on network every step hours from from to to (inclusive),
// alternating between two probes.
func run(domain, network string, s timeline.State, from, to, step float64) []timeline.Obs {
	var out []timeline.Obs
	for i, x := 0, from; x <= to+1e-9; i, x = i+1, x+step {
		out = append(out, timeline.Obs{At: h(x), ID: fmt.Sprintf("%s-%s-%s-%05.2f", domain, network, s, x),
			Probe: fmt.Sprintf("p%d", i%2), Network: network, Domain: domain, Status: s})
	}
	return out
}

// span is one confirmed period for tl: state from since (confirmed 30 min later) to last.
type span struct {
	s           timeline.State
	since, last float64
}

// tl builds the timeline of domain on network from its periods, over [eff-Lookback, to].
func tl(domain, network string, to float64, spans ...span) timeline.Timeline {
	t := timeline.Timeline{Domain: domain, Network: network, From: eff.Add(-Lookback), To: h(to), Current: timeline.Unknown}
	for i, sp := range spans {
		until := h(to)
		if i+1 < len(spans) {
			until = h(spans[i+1].since)
		}
		t.Periods = append(t.Periods, timeline.Period{State: sp.s, Since: h(sp.since), Confirmed: h(sp.since + 0.5),
			FirstSeen: h(sp.since), LastSeen: h(sp.last), Until: until})
		t.Current = sp.s
	}
	return t
}

func cat(runs ...[]timeline.Obs) []timeline.Obs { return slices.Concat(runs...) }

func TestComplyDomain(t *testing.T) {
	const d, n = "t.me", "Telkomsel"
	tests := []struct {
		name    string
		tls     []timeline.Timeline
		obs     []timeline.Obs
		at      float64
		status  Status
		current timeline.State
		tte     float64 // hours; -1 for nil
		// consistent, decisive measurements, undecided, counter total
		consistent, measurements, undecided, counter int
	}{
		{name: "no coverage", at: 10.25, status: Unknown, current: timeline.Unknown, tte: -1},
		{name: "no coverage within grace", at: 1, status: Pending, current: timeline.Unknown, tte: -1},
		{name: "before the order", at: -1, tls: []timeline.Timeline{tl(d, n, -1, span{A, -48, -1})},
			obs: run(d, n, A, -48, -1, 1), status: Pending, current: A, tte: -1},
		{name: "coverage only before effective", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, -1})},
			obs: run(d, n, A, -48, -1, 1), status: Unknown, current: A, tte: -1},
		{name: "within grace, not yet", at: 1.5, tls: []timeline.Timeline{tl(d, n, 1.5, span{A, -48, 1.5})},
			obs: run(d, n, A, -48, 1.5, 0.25), status: Pending, current: A, tte: -1},
		{name: "within grace, complied", at: 1.5, tls: []timeline.Timeline{tl(d, n, 1.5, span{A, -48, 0.5}, span{B, 0.75, 1.5})},
			obs: cat(run(d, n, A, -48, 0.5, 0.25), run(d, n, B, 0.75, 1.5, 0.25)), status: Compliant, current: B, tte: 0.75},
		{name: "confirmed after at is not yet known", at: 1, tls: []timeline.Timeline{tl(d, n, 1.5, span{A, -48, 0.5}, span{B, 0.75, 1.5})},
			obs: cat(run(d, n, A, -48, 0.5, 0.25), run(d, n, B, 0.75, 1.5, 0.25)), status: Pending, current: A, tte: -1},
		{name: "complied in time", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, 0.5}, span{B, 0.75, 10})},
			obs: cat(run(d, n, A, -48, 0.5, 0.25), run(d, n, B, 0.75, 10, 0.25)), status: Compliant, current: B, tte: 0.75,
			consistent: 33, measurements: 33},
		{name: "compliance reached late", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, 4.75}, span{B, 5, 10})},
			obs: cat(run(d, n, A, -48, 4.75, 0.25), run(d, n, B, 5, 10, 0.25)), status: Compliant, current: B, tte: 5,
			consistent: 21, measurements: 33, counter: 12},
		{name: "blocked before the order", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{B, -5, 10})},
			obs: run(d, n, B, -5, 10, 1), status: Compliant, current: B, tte: 0, consistent: 9, measurements: 9},
		{name: "blocked before, lifted before the order", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{B, -5, -3}, span{A, -2, 10})},
			obs: cat(run(d, n, B, -5, -3, 1), run(d, n, A, -2, 10, 1)), status: NonCompliant, current: A, tte: -1,
			measurements: 9, counter: 9},
		{name: "never complied", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, 10})},
			obs: run(d, n, A, -48, 10, 1), status: NonCompliant, current: A, tte: -1, measurements: 9, counter: 9},
		{name: "relapse after compliance", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, 0}, span{B, 1, 5}, span{A, 6, 10})},
			obs: cat(run(d, n, A, -48, 0, 1), run(d, n, B, 1, 5, 1), run(d, n, A, 6, 10, 1)), status: NonCompliant, current: A, tte: 1,
			consistent: 4, measurements: 9, counter: 5},
		{name: "relapse within grace", at: 1.9, tls: []timeline.Timeline{tl(d, n, 1.9, span{B, 0.5, 1}, span{A, 1.25, 1.75})},
			obs: cat(run(d, n, B, 0.5, 1, 0.25), run(d, n, A, 1.25, 1.75, 0.25)), status: Pending, current: A, tte: 0.5},
		{name: "down everywhere after grace", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10, span{A, -48, 0}, span{D, 1, 10})},
			obs: cat(run(d, n, A, -48, 0, 1), run(d, n, D, 1, 10, 1), run(d, n, I, 9.5, 9.5, 1)), status: Unknown, current: D, tte: -1,
			undecided: 10},
		{name: "unconfirmed measurements only", at: 10.25, tls: []timeline.Timeline{tl(d, n, 10)},
			obs: run(d, n, B, 9, 9.5, 0.5), status: Unknown, current: timeline.Unknown, tte: -1, consistent: 2, measurements: 2},
		{name: "per-probe timeline and observations from at ignored", at: 10,
			tls: []timeline.Timeline{{Domain: d, Network: n, Probe: "p0", Current: B, Periods: []timeline.Period{{State: B, Since: h(1), Confirmed: h(1), LastSeen: h(9)}}}},
			obs: run(d, n, B, 10, 12, 1), status: Unknown, current: timeline.Unknown, tte: -1},
	}
	for _, tc := range tests {
		r := Comply(testOrder([]string{d}, []string{n}), tc.tls, tc.obs, h(tc.at))
		if len(r.Networks) != 1 || len(r.Networks[0].Domains) != 1 {
			t.Fatalf("%s: report %+v", tc.name, r)
		}
		dr := r.Networks[0].Domains[0]
		tte := -1.0
		if dr.TimeToEffectS != nil {
			tte = *dr.TimeToEffectS / 3600
			if dr.Effect == nil || !dr.Effect.Equal(h(tc.tte)) {
				t.Errorf("%s: effect %v, want %v", tc.name, dr.Effect, h(tc.tte))
			}
		} else if dr.Effect != nil {
			t.Errorf("%s: effect %v without a time to effect", tc.name, dr.Effect)
		}
		got := fmt.Sprintf("%s current=%s tte=%g %d/%d undecided=%d counter=%d", dr.Status, dr.Current, tte,
			dr.Consistent, dr.Measurements, dr.Undecided, dr.CounterTotal)
		want := fmt.Sprintf("%s current=%s tte=%g %d/%d undecided=%d counter=%d", tc.status, tc.current, tc.tte,
			tc.consistent, tc.measurements, tc.undecided, tc.counter)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
		if want := share(tc.consistent, tc.measurements); dr.Share != want {
			t.Errorf("%s: share %g, want %g", tc.name, dr.Share, want)
		}
		if r.Status != tc.status || r.Networks[0].Status != tc.status {
			t.Errorf("%s: report %s, network %s; want %s", tc.name, r.Status, r.Networks[0].Status, tc.status)
		}
		if len(dr.Counter) != min(tc.counter, MaxCounter) {
			t.Errorf("%s: %d counter-evidence, want %d", tc.name, len(dr.Counter), min(tc.counter, MaxCounter))
		}
		for _, c := range dr.Counter {
			if c.Status == B || c.At.Before(h(2)) {
				t.Errorf("%s: counter-evidence %+v", tc.name, c)
			}
		}
	}
}

func TestComplyNetworks(t *testing.T) {
	const a, b, c = "a.example", "b.example", "c.example"
	o := testOrder([]string{a, b, c}, []string{"Late", "Relapse", "Partial", "Unmeasured", "Waiting"})
	tls := []timeline.Timeline{
		// Late: a at 1 h, b at 3 h, c at 6 h: the network took 6 h.
		tl(a, "Late", 10, span{B, 1, 10}), tl(b, "Late", 10, span{A, -48, 2.5}, span{B, 3, 10}), tl(c, "Late", 10, span{A, -48, 5.5}, span{B, 6, 10}),
		// Relapse: every domain complied, c is accessible again.
		tl(a, "Relapse", 10, span{B, 1, 10}), tl(b, "Relapse", 10, span{B, 1, 10}), tl(c, "Relapse", 10, span{B, 1, 7}, span{A, 8, 10}),
		// Partial: c never complied.
		tl(a, "Partial", 10, span{B, 1, 10}), tl(b, "Partial", 10, span{B, 1, 10}), tl(c, "Partial", 10, span{A, -48, 10}),
		// Unmeasured: c has no measurement.
		tl(a, "Unmeasured", 10, span{B, 1, 10}), tl(b, "Unmeasured", 10, span{B, 1, 10}),
		// Out of scope: a network and a domain the order does not name.
		tl(a, "Elsewhere", 10, span{A, -48, 10}), tl("d.example", "Late", 10, span{A, -48, 10}),
	}
	obs := cat(
		run(a, "Late", B, 1, 10, 1), run(b, "Late", A, -48, 2.5, 0.5), run(b, "Late", B, 3, 10, 1), run(c, "Late", A, -48, 5.5, 0.5), run(c, "Late", B, 6, 10, 1),
		run(a, "Relapse", B, 1, 10, 1), run(b, "Relapse", B, 1, 10, 1), run(c, "Relapse", B, 1, 7, 1), run(c, "Relapse", A, 8, 10, 1),
		run(a, "Partial", B, 1, 10, 1), run(b, "Partial", B, 1, 10, 1), run(c, "Partial", A, -48, 10, 0.25),
		run(a, "Unmeasured", B, 1, 10, 1), run(b, "Unmeasured", B, 1, 10, 1),
		run(a, "Elsewhere", A, -48, 10, 1), run("d.example", "Late", A, -48, 10, 1),
	)
	r := Comply(o, tls, obs, h(10.25))
	type net struct {
		status  Status
		tte     float64
		domains []Status
		counts  string // consistent/measurements counter-total
	}
	want := map[string]net{
		"Late":       {Compliant, 6, []Status{Compliant, Compliant, Compliant}, "22/32 10"},
		"Relapse":    {NonCompliant, 1, []Status{Compliant, Compliant, NonCompliant}, "24/27 3"},
		"Partial":    {NonCompliant, -1, []Status{Compliant, Compliant, NonCompliant}, "18/51 33"},
		"Unmeasured": {Unknown, -1, []Status{Compliant, Compliant, Unknown}, "18/18 0"},
		"Waiting":    {Unknown, -1, []Status{Unknown, Unknown, Unknown}, "0/0 0"},
	}
	if r.Status != NonCompliant || len(r.Networks) != len(o.Networks) {
		t.Fatalf("report %s with %d networks", r.Status, len(r.Networks))
	}
	for i, nr := range r.Networks {
		if nr.Network != o.Networks[i] {
			t.Errorf("network %d is %q, want %q", i, nr.Network, o.Networks[i])
		}
		w := want[nr.Network]
		var ds []Status
		for j, dr := range nr.Domains {
			ds = append(ds, dr.Status)
			if dr.Domain != o.Domains[j] {
				t.Errorf("%s: domain %d is %q", nr.Network, j, dr.Domain)
			}
		}
		tte := -1.0
		if nr.TimeToEffectS != nil {
			tte = *nr.TimeToEffectS / 3600
		}
		counts := fmt.Sprintf("%d/%d %d", nr.Consistent, nr.Measurements, nr.CounterTotal)
		if nr.Status != w.status || tte != w.tte || !slices.Equal(ds, w.domains) || counts != w.counts {
			t.Errorf("%s: %s tte=%g %v %s; want %s tte=%g %v %s", nr.Network, nr.Status, tte, ds, counts, w.status, w.tte, w.domains, w.counts)
		}
		if nr.Share != share(nr.Consistent, nr.Measurements) {
			t.Errorf("%s: share %g", nr.Network, nr.Share)
		}
		if len(nr.Counter) != min(nr.CounterTotal, MaxCounter) {
			t.Errorf("%s: %d counter-evidence of %d", nr.Network, len(nr.Counter), nr.CounterTotal)
		}
		for j, c := range nr.Counter {
			if c.Network != nr.Network || c.Status != A || j > 0 && c.At.After(nr.Counter[j-1].At) {
				t.Errorf("%s: counter-evidence %d: %+v", nr.Network, j, c)
			}
		}
	}
	// Partial: c's newest counter-evidence, 10 h back to 7.75 h.
	if got := r.Networks[2].Counter; got[0].At != h(10) || got[MaxCounter-1].At != h(7.75) || got[0].Domain != c {
		t.Errorf("partial counter-evidence from %v to %v", got[0].At, got[len(got)-1].At)
	}
}

func TestAggregate(t *testing.T) {
	for _, tc := range []struct {
		in   []Status
		want Status
	}{
		{nil, Unknown},
		{[]Status{Compliant, Compliant}, Compliant},
		{[]Status{Compliant, Unknown}, Unknown},
		{[]Status{Unknown, Pending, Compliant}, Pending},
		{[]Status{Pending, NonCompliant, Unknown, Compliant}, NonCompliant},
	} {
		if got := aggregate(tc.in); got != tc.want {
			t.Errorf("aggregate(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
