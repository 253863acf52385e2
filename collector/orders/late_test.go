package orders

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// TestLateness: a network that reached the expected state after the due time (eff+2h)
// carries how late, per domain and per network (its latest domain); on time carries none.
func TestLateness(t *testing.T) {
	const n = "Telkomsel"
	tests := []struct {
		name   string
		since  float64 // hours after eff when t.me turned blocked
		late   float64 // hours; 0 for absent
		text   string
		status Status
	}{
		{name: "already blocked", since: -24, status: Compliant},
		{name: "within grace", since: 1, status: Compliant},
		{name: "at the due time", since: 2, status: Compliant},
		{name: "2 d 3 h late", since: 2 + 51, late: 51, text: "2 d 3 h after the grace period ended", status: Compliant},
		{name: "90 min late", since: 3.5, late: 1.5, text: "1 h 30 min after the grace period ended", status: Compliant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOrder([]string{"t.me"}, []string{n})
			at := tc.since + 60
			tls := []timeline.Timeline{tl("t.me", n, at, span{A, -48, tc.since - 1}, span{B, tc.since, at - 1})}
			obs := cat(run("t.me", n, A, -48, tc.since-1, 1), run("t.me", n, B, tc.since, at-1, 1))
			if tc.since < 0 {
				tls = []timeline.Timeline{tl("t.me", n, at, span{B, tc.since, at - 1})}
				obs = run("t.me", n, B, tc.since, at-1, 1)
			}
			r := Comply(o, tls, obs, h(at))
			nr, dr := r.Networks[0], r.Networks[0].Domains[0]
			if dr.Status != tc.status || nr.Status != tc.status {
				t.Fatalf("status %s/%s, want %s", nr.Status, dr.Status, tc.status)
			}
			for _, got := range []struct {
				s    *float64
				text string
			}{{dr.LateByS, dr.Late}, {nr.LateByS, nr.Late}} {
				if tc.late == 0 {
					if got.s != nil || got.text != "" {
						t.Errorf("late %v %q, want none", got.s, got.text)
					}
					continue
				}
				if got.s == nil || *got.s != tc.late*3600 || got.text != tc.text {
					t.Errorf("late %v %q, want %v s %q", got.s, got.text, tc.late*3600, tc.text)
				}
			}
		})
	}
}

// TestUnknownReasons: each unknown status carries the reason Comply can tell.
func TestUnknownReasons(t *testing.T) {
	const n, other = "Telkomsel", "XL Axiata"
	tests := []struct {
		name   string
		tls    []timeline.Timeline
		obs    []timeline.Obs
		reason Reason
	}{
		{name: "no probe on the network", reason: NoProbe},
		{name: "measured only before the order", tls: []timeline.Timeline{tl("t.me", n, -1, span{A, -48, -1})},
			obs: run("t.me", n, A, -48, -1, 1), reason: NotMeasured},
		{name: "another name measured, not this one", tls: []timeline.Timeline{tl("telegram.org", n, 10, span{B, 0, 9})},
			obs: run("telegram.org", n, B, 0, 9, 1), reason: NotMeasured},
		{name: "only inconclusive since", tls: []timeline.Timeline{tl("t.me", n, 10, span{A, -48, -1}, span{I, 0, 9})},
			obs: cat(run("t.me", n, A, -48, -1, 1), run("t.me", n, I, 0, 9, 1)), reason: OnlyUndecided},
		{name: "only down since", tls: []timeline.Timeline{tl("t.me", n, 10, span{D, 0, 9})},
			obs: run("t.me", n, D, 0, 9, 1), reason: OnlyUndecided},
		{name: "decisive then down", tls: []timeline.Timeline{tl("t.me", n, 10, span{A, 0, 5}, span{D, 6, 9})},
			obs: cat(run("t.me", n, A, 0, 5, 1), run("t.me", n, D, 6, 9, 1)), reason: NotDecisive},
		{name: "decisive, nothing confirmed", obs: run("t.me", n, A, 9, 9, 1), reason: NotDecisive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOrder([]string{"t.me", "telegram.org"}, []string{n, other})
			r := Comply(o, tc.tls, tc.obs, h(10))
			dr, nr := r.Networks[0].Domains[0], r.Networks[0]
			if dr.Status != Unknown || dr.Reason != tc.reason || dr.ReasonText != tc.reason.Text() || dr.ReasonText == "" {
				t.Errorf("t.me: %s %q %q, want unknown %q", dr.Status, dr.Reason, dr.ReasonText, tc.reason)
			}
			if nr.Status != Unknown || nr.Reason != tc.reason {
				t.Errorf("network: %s %q, want unknown %q", nr.Status, nr.Reason, tc.reason)
			}
			if x := r.Networks[1]; x.Reason != NoProbe || x.Domains[1].Reason != NoProbe {
				t.Errorf("%s: %q %q, want %q", other, x.Reason, x.Domains[1].Reason, NoProbe)
			}
		})
	}
}

// TestSetAsOfJSON: a report for a past time says so in its JSON; one for now does not,
// and a compliant on-time or non-unknown report has no late_by_s or reason keys.
func TestSetAsOfJSON(t *testing.T) {
	o := testOrder([]string{"t.me"}, []string{"Telkomsel"})
	for _, tc := range []struct {
		now  time.Time
		want []string
		not  []string
	}{
		{now: h(10), want: []string{`"historical":false`, `"reason":"no-probe"`}, not: []string{`"as_of"`, `"late_by_s"`}},
		{now: h(100), want: []string{`"historical":true`, `"as_of":"2017-07-14T03:00:00Z"`}},
	} {
		r := Comply(o, nil, nil, h(10))
		r.SetAsOf(tc.now)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("now %s: JSON lacks %s: %s", tc.now, w, b)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(string(b), w) {
				t.Errorf("now %s: JSON has %s: %s", tc.now, w, b)
			}
		}
	}
}
