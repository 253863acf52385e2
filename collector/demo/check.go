package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// NoticeMark is a part of Notice that every page of the demo's dashboard shows as is.
const NoticeMark = "collector demo generated them"

// Check reads the data set back through the collector at base (its report API and its
// dashboard) and returns every way in which what the collector says differs from the
// plan: the compliance of each order network with the block (on time, a day late, beyond
// the grace period) and with the lift (the five names kept blocked), the outage as a
// gap, the flapping block as repeated changes, and the simulated notice on every page.
func Check(ctx context.Context, c *http.Client, base string) error {
	ch := &checker{ctx: ctx, c: c, base: strings.TrimSuffix(base, "/")}
	ch.block()
	ch.lift()
	ch.outage()
	ch.flap()
	ch.pages()
	return errors.Join(ch.errs...)
}

type checker struct {
	ctx  context.Context
	c    *http.Client
	base string
	errs []error
}

func (ch *checker) fail(format string, a ...any) { ch.errs = append(ch.errs, fmt.Errorf(format, a...)) }

// get fetches path and returns its body, failing on any status but 200.
func (ch *checker) get(path string) ([]byte, bool) {
	req, err := http.NewRequestWithContext(ch.ctx, http.MethodGet, ch.base+path, nil)
	if err != nil {
		ch.fail("GET %s: %w", path, err)
		return nil, false
	}
	resp, err := ch.c.Do(req)
	if err != nil {
		ch.fail("GET %s: %w", path, err)
		return nil, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		ch.fail("GET %s: HTTP %d %.200s %v", path, resp.StatusCode, b, err)
		return nil, false
	}
	return b, true
}

func (ch *checker) getJSON(path string, v any) bool {
	b, ok := ch.get(path)
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		ch.fail("GET %s: %w", path, err)
		return false
	}
	return true
}

func (ch *checker) compliance(id string, at time.Time) (orders.Report, bool) {
	var rep orders.Report
	ok := ch.getJSON("/api/v1/orders/"+id+"/compliance?"+url.Values{"at": {at.Format(time.RFC3339)}}.Encode(), &rep)
	return rep, ok
}

// block checks the block order half a day after its grace period (the late network is
// non-compliant) and just before the lift (every order network compliant, the late one
// with its lateness, the one with the outage with gaps).
func (ch *checker) block() {
	var o orders.Order
	if !ch.getJSON("/api/v1/orders/"+BlockOrder, &o) {
		return
	}
	due := o.Effective.Add(o.Grace)
	early, late := due.Add(12*time.Hour), LiftEffective.Add(-12*time.Hour)
	if rep, ok := ch.compliance(BlockOrder, early); ok {
		for _, nr := range rep.Networks {
			n := network(nr.Network)
			want := orders.Compliant
			if o.Effective.Add(n.BlockAfter).After(early.Add(-3 * Cadence)) {
				want = orders.NonCompliant
			}
			if nr.Status != want {
				ch.fail("block order at %s: %s is %s, the plan makes it %s", early.Format(time.RFC3339), nr.Network, nr.Status, want)
			}
		}
	}
	rep, ok := ch.compliance(BlockOrder, late)
	if !ok {
		return
	}
	for _, nr := range rep.Networks {
		n := network(nr.Network)
		if nr.Status != orders.Compliant {
			ch.fail("block order at %s: %s is %s, the plan makes it compliant", late.Format(time.RFC3339), nr.Network, nr.Status)
		}
		lateBy := n.BlockAfter - o.Grace
		switch {
		case lateBy <= 0 && nr.LateByS != nil:
			ch.fail("block order: %s is late by %.0f s, the plan applies the block within the grace period", nr.Network, *nr.LateByS)
		case lateBy > 0 && (nr.LateByS == nil || !within(*nr.LateByS, lateBy)):
			ch.fail("block order: %s is late by %v s, the plan makes it late by %s to %s", nr.Network, deref(nr.LateByS), lateBy, lateBy+Cadence)
		case nr.TimeToEffectS == nil || !within(*nr.TimeToEffectS, n.BlockAfter):
			ch.fail("block order: %s took %v s to comply, the plan %s to %s", nr.Network, deref(nr.TimeToEffectS), n.BlockAfter, n.BlockAfter+Cadence)
		}
		for _, dr := range nr.Domains {
			if outage := !n.Outage[0].IsZero() && n.Outage[0].After(o.Effective); outage != (dr.Gaps > 0) {
				ch.fail("block order: %s %s has %d gaps; the plan has an outage: %v", nr.Network, dr.Domain, dr.Gaps, outage)
			}
		}
	}
}

// within reports whether s seconds are in [d, d + Cadence + 10 min): the first
// measurement after the change comes within a cadence (and its jitter).
func within(s float64, d time.Duration) bool {
	got := time.Duration(s * float64(time.Second))
	return got >= d && got < d+Cadence+10*time.Minute
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func network(name string) *Network {
	for i := range Networks {
		if Networks[i].Name == name {
			return &Networks[i]
		}
	}
	return &Network{Name: name, BlockAfter: Never, LiftAfter: Never}
}

// lift checks the lift at the end of the data set: the networks that kept the five
// names blocked are non-compliant for exactly those five, the others compliant.
func (ch *checker) lift() {
	rep, ok := ch.compliance(LiftOrder, End)
	if !ok {
		return
	}
	for _, nr := range rep.Networks {
		n := network(nr.Network)
		want := orders.Compliant
		if n.KeepAfterLift {
			want = orders.NonCompliant
		}
		if nr.Status != want {
			ch.fail("lift order: %s is %s, the plan makes it %s", nr.Network, nr.Status, want)
		}
		var bad []string
		for _, dr := range nr.Domains {
			if dr.Status != orders.Compliant {
				bad = append(bad, dr.Domain)
			}
		}
		if want := kept(n); !slices.Equal(bad, want) {
			ch.fail("lift order: on %s the names not compliant are %v, the plan keeps %v blocked", nr.Network, bad, want)
		}
	}
	if rep.Status != orders.NonCompliant {
		ch.fail("lift order: %s overall, the plan makes it non-compliant", rep.Status)
	}
}

func kept(n *Network) []string {
	if !n.KeepAfterLift {
		return nil
	}
	var out []string
	for _, d := range Domains { // the order's order
		if slices.Contains(Kept, d) {
			out = append(out, d)
		}
	}
	return out
}

type timelines struct {
	Timelines []timeline.Timeline `json:"timelines"`
}

func (ch *checker) timeline(domain, net string, from, to time.Time) (timeline.Timeline, bool) {
	var tls timelines
	q := url.Values{"domain": {domain}, "network": {net}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	if !ch.getJSON("/api/v1/timeline?"+q.Encode(), &tls) {
		return timeline.Timeline{}, false
	}
	if len(tls.Timelines) != 1 {
		ch.fail("timeline of %s on %s: %d timelines, want 1", domain, net, len(tls.Timelines))
		return timeline.Timeline{}, false
	}
	return tls.Timelines[0], true
}

// outage checks that each outage is one gap in the timelines of its network, covering it
// and no more than a cadence on either side, and that the state holds across it.
func (ch *checker) outage() {
	for i := range Networks {
		n := &Networks[i]
		if n.Outage[0].IsZero() {
			continue
		}
		tl, ok := ch.timeline("t.me", n.Name, n.Outage[0].Add(-72*time.Hour), n.Outage[1].Add(72*time.Hour))
		if !ok {
			continue
		}
		if len(tl.Gaps) != 1 || tl.Gaps[0].From.After(n.Outage[0]) || tl.Gaps[0].To.Before(n.Outage[1]) ||
			tl.Gaps[0].From.Before(n.Outage[0].Add(-Cadence)) || tl.Gaps[0].To.After(n.Outage[1].Add(Cadence)) {
			ch.fail("t.me on %s: gaps %+v, the plan has one outage from %s to %s", n.Name, tl.Gaps, n.Outage[0], n.Outage[1])
		}
		if _, ok := tl.StateAt(n.Outage[0].Add(n.Outage[1].Sub(n.Outage[0]) / 2)); ok {
			ch.fail("t.me on %s: a state is claimed in the middle of the outage", n.Name)
		}
		if len(tl.Transitions) != 1 {
			ch.fail("t.me on %s around the outage: transitions %+v, want the first confirmation only (a gap is no change)", n.Name, tl.Transitions)
		}
	}
}

// flap checks that a flapping block shows as a change at every flip the cadence can
// confirm.
func (ch *checker) flap() {
	for i := range Networks {
		n := &Networks[i]
		if n.Flap == "" {
			continue
		}
		from := BlockEffective.Add(n.BlockAfter)
		to := LiftEffective.Add(n.LiftAfter)
		tl, ok := ch.timeline(n.Flap, n.Name, from, to)
		if !ok {
			continue
		}
		flips := int(to.Sub(from) / n.FlapEvery)
		if len(tl.Transitions) < flips-1 {
			ch.fail("%s on %s: %d transitions between the block and the lift, the plan flips it %d times", n.Flap, n.Name, len(tl.Transitions), flips)
		}
	}
}
