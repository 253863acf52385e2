package orders

import (
	"slices"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// The 2017 Telegram case, in hours after the block's Effective time (eff, 14 July 2017
// 00:00 WIB): each ISP applies the block after its own delay; the lift (effective at
// liftAt, 10 August 2017 00:00 WIB) is applied after 2 h, but on Telkomsel and XL Axiata
// t.me and four web.telegram.org hosts stay blocked, as the press found.
const (
	liftAt   = 27 * 24.0 // 10 August 2017 00:00 WIB
	applied  = 2.0       // the lift is applied this long after liftAt
	caseEnd  = liftAt + 72
	caseStep = 0.5 // a measurement every 30 min, from two probes in turn
)

// blockDelay is when each ISP applied the block, in hours after eff.
var blockDelay = map[string]float64{"Telkom Indonesia": 20, "Telkomsel": 5, "XL Axiata": 6, "Indosat Ooredoo": 30}

// stayedBlocked are the names the lift did not reach on Telkomsel and XL Axiata.
var stayedBlocked = []string{"t.me", "venus.web.telegram.org", "pluto.web.telegram.org", "flora.web.telegram.org", "flora-1.web.telegram.org"}

func partial(network, domain string) bool {
	return (network == "Telkomsel" || network == "XL Axiata") && slices.Contains(stayedBlocked, domain)
}

// telegramCase returns the observations of the case and the timelines an engine with
// K=3 would confirm from them (each state confirmed by its third measurement).
func telegramCase() ([]timeline.Obs, []timeline.Timeline) {
	const last = caseEnd - caseStep // the window ends before caseEnd, as timeline.Build's
	var obs []timeline.Obs
	var tls []timeline.Timeline
	for _, n := range isps {
		for _, d := range telegram {
			b := blockDelay[n]
			spans := []span{{A, -48, b - caseStep}, {B, b, last}}
			o := cat(run(d, n, A, -48, b-caseStep, caseStep), run(d, n, B, b, last, caseStep))
			if !partial(n, d) {
				lift := liftAt + applied
				spans = []span{{A, -48, b - caseStep}, {B, b, lift - caseStep}, {A, lift, last}}
				o = cat(run(d, n, A, -48, b-caseStep, caseStep), run(d, n, B, b, lift-caseStep, caseStep), run(d, n, A, lift, last, caseStep))
			}
			t := tl(d, n, caseEnd, spans...)
			for i := range t.Periods { // confirmed by the third measurement
				t.Periods[i].Confirmed = t.Periods[i].Since.Add(time.Duration(2 * caseStep * float64(time.Hour)))
			}
			tls, obs = append(tls, t), append(obs, o...)
		}
	}
	return obs, tls
}

func TestTelegramPartialLift(t *testing.T) {
	obs, tls := telegramCase()
	checkTelegram(t, func(Order, time.Time) []timeline.Timeline { return tls }, obs)
}

// checkTelegram checks the seed orders' reports on the case; build gives the timelines
// for an order's report at a time.
func checkTelegram(t *testing.T, build func(o Order, at time.Time) []timeline.Timeline, obs []timeline.Obs) {
	t.Helper()
	seeds := Seeds()
	block, lift := seeds[0], seeds[1]
	if !block.Effective.Equal(eff) || !lift.Effective.Equal(h(liftAt)) {
		t.Fatalf("the seeds' times moved: %v, %v", block.Effective, lift.Effective)
	}

	// The block, the day before the lift: every ISP complied, each after its delay.
	r := Comply(block, build(block, h(liftAt-24)), obs, h(liftAt-24))
	if r.Status != Compliant {
		t.Errorf("block: %s, want compliant", r.Status)
	}
	for _, nr := range r.Networks {
		if nr.Status != Compliant || nr.TimeToEffectS == nil || *nr.TimeToEffectS != blockDelay[nr.Network]*3600 ||
			nr.CounterTotal != 0 || nr.Share != 1 || len(nr.Domains) != 11 {
			t.Errorf("block on %s: %s, time to effect %v s, share %g, counter %d; want compliant after %g h",
				nr.Network, nr.Status, deref64(nr.TimeToEffectS), nr.Share, nr.CounterTotal, blockDelay[nr.Network])
		}
	}

	// The lift, a day after its grace: Telkomsel and XL Axiata did not comply for the five.
	r = Comply(lift, build(lift, h(caseEnd)), obs, h(caseEnd))
	if r.Status != NonCompliant {
		t.Errorf("lift: %s, want non-compliant", r.Status)
	}
	perDomainAfterGrace := int((caseEnd - (liftAt + 48)) / caseStep) // measurements from the end of the grace period
	for _, nr := range r.Networks {
		part := nr.Network == "Telkomsel" || nr.Network == "XL Axiata"
		var non []string
		for _, dr := range nr.Domains {
			switch {
			case dr.Status == NonCompliant:
				non = append(non, dr.Domain)
				if dr.Current != B || dr.Effect != nil || dr.CounterTotal != perDomainAfterGrace || dr.Share != 0 ||
					len(dr.Counter) != MaxCounter || dr.Counter[0].At != h(caseEnd-caseStep) || dr.Counter[0].Status != B {
					t.Errorf("lift on %s, %s: current %s, effect %v, counter-evidence %d of %d from %v, share %g",
						nr.Network, dr.Domain, dr.Current, dr.Effect, len(dr.Counter), dr.CounterTotal, newestAt(dr.Counter), dr.Share)
				}
			case dr.Status != Compliant || dr.Current != A || dr.TimeToEffectS == nil || *dr.TimeToEffectS != applied*3600 ||
				dr.Share != 1 || dr.CounterTotal != 0:
				t.Errorf("lift on %s, %s: %s current %s, time to effect %v s", nr.Network, dr.Domain, dr.Status, dr.Current, deref64(dr.TimeToEffectS))
			}
		}
		switch {
		case part && (nr.Status != NonCompliant || !slices.Equal(non, stayedBlocked) || nr.TimeToEffectS != nil ||
			nr.CounterTotal != 5*perDomainAfterGrace || len(nr.Counter) != MaxCounter):
			t.Errorf("lift on %s: %s, non-compliant %q, time to effect %v, counter %d; want non-compliant for %q",
				nr.Network, nr.Status, non, deref64(nr.TimeToEffectS), nr.CounterTotal, stayedBlocked)
		case !part && (nr.Status != Compliant || len(non) != 0 || nr.TimeToEffectS == nil || *nr.TimeToEffectS != applied*3600):
			t.Errorf("lift on %s: %s, non-compliant %q, time to effect %v", nr.Network, nr.Status, non, deref64(nr.TimeToEffectS))
		}
		if part {
			want := float64(6*perDomainAfterGrace) / float64(11*perDomainAfterGrace)
			if nr.Share != want || nr.Measurements != 11*perDomainAfterGrace {
				t.Errorf("lift on %s: share %g of %d, want %g", nr.Network, nr.Share, nr.Measurements, want)
			}
			for _, c := range nr.Counter {
				if !slices.Contains(stayedBlocked, c.Domain) || c.Status != B || c.Network != nr.Network {
					t.Errorf("lift on %s: counter-evidence %+v", nr.Network, c)
				}
			}
		}
	}
}

func deref64(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func newestAt(obs []timeline.Obs) any {
	if len(obs) == 0 {
		return nil
	}
	return obs[0].At
}

// TestTelegramFromObservations goes the way the collector does: observations, then the
// timeline engine with its default parameters, then Comply.
func TestTelegramFromObservations(t *testing.T) {
	obs, _ := telegramCase()
	build := func(o Order, at time.Time) []timeline.Timeline {
		tls := timeline.BuildAll(obs, nil, o.Effective.Add(-Lookback), at, timeline.DefaultParams())
		if len(tls) != len(telegram)*len(isps) {
			t.Fatalf("%s: %d timelines, want %d", o.ID, len(tls), len(telegram)*len(isps))
		}
		return tls
	}
	checkTelegram(t, build, obs)
}
