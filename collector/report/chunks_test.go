package report_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// TestComplianceInPlace: the compliance report, which reads the cache's slices in place,
// is the one computed from a single merged slice of the store's observations and
// heartbeats of the order's networks, with the cache cold, warm or disabled, at day
// boundaries and within a day.
func TestComplianceInPlace(t *testing.T) {
	st, _, _ := fixture(t)
	o := seedBlock(t)
	inScope := map[string]bool{}
	for _, n := range o.Networks {
		inScope[n] = true
	}
	want := func(at time.Time) string {
		from, to := o.Effective.Add(-orders.Lookback), at.Add(time.Nanosecond)
		all, err := st.Observations(ctx(t), store.ObsFilter{Domains: o.Domains, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		var obs []timeline.Obs
		for _, ob := range all {
			if inScope[ob.Network] {
				obs = append(obs, ob)
			}
		}
		beats, err := st.Beats(ctx(t), store.ObsFilter{Networks: o.Networks, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		return jsonOf(t, orders.Comply(o, timeline.BuildAll(obs, beats, from, to, timeline.DefaultParams()), obs, at))
	}
	cached := newService(t, st, "", end)
	uncached, err := report.New(report.Config{Source: st, Now: func() time.Time { return end }, Cache: report.CacheConfig{MaxItems: -1}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{end, time.Date(2017, 7, 15, 13, 17, 30, 5, time.UTC), time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)} {
		w := want(at)
		for _, c := range []struct {
			name string
			svc  *report.Service
		}{{"cold", newService(t, st, "", end)}, {"warm", cached}, {"warm again", cached}, {"no cache", uncached}} {
			r, err := c.svc.Compliance(ctx(t), o.ID, at)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, r); got != w {
				t.Errorf("at %s, %s: report\n%s\nwant\n%s", at, c.name, got, w)
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
