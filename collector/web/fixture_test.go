package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/orders"
	"github.com/pantau-dev/pantau/timeline"
)

// fixed is Data holding the data set's timelines and an order's report as values, for the
// templates while collector/report is not there yet.
type fixed struct {
	mu     sync.Mutex
	tls    []timeline.Timeline
	orders []orders.Order
	puts   [][]byte
}

var testOrder = orders.Order{ID: "test-block", Title: "Block t.me", Authority: "Kominfo", Reference: "T-1/2017",
	Domains: []string{dsDomain}, Expect: timeline.Blocked, Effective: dsBlock, Grace: 24 * time.Hour, Networks: []string{tsel, isat}}

func newFixed() *fixed {
	tl := func(network string, ps []timeline.Period, gap [2]time.Time) timeline.Timeline {
		return timeline.Timeline{Domain: dsDomain, Network: network, From: dsFrom, To: dsTo, Current: ps[len(ps)-1].State,
			Periods: ps, Gaps: []timeline.Gap{{From: gap[0], To: gap[1], Reason: timeline.GapNoHeartbeat}}}
	}
	return &fixed{
		tls: []timeline.Timeline{
			tl(tsel, []timeline.Period{
				{State: timeline.Accessible, Since: dsFrom, Until: dsBlock},
				{State: timeline.Blocked, Method: "dns", Since: dsBlock, Until: dsTo},
			}, tselGap),
			tl(isat, []timeline.Period{{State: timeline.Accessible, Since: dsFrom, Until: dsTo}}, isatGap),
		},
		orders: []orders.Order{testOrder},
	}
}

func (f *fixed) Timelines(_ context.Context, q report.Query) ([]timeline.Timeline, error) {
	var out []timeline.Timeline
	for _, tl := range f.tls {
		if tl.Domain == q.Domain && (q.Network == "" || q.Network == tl.Network) {
			out = append(out, tl)
		}
	}
	return out, nil
}

func (f *fixed) Orders() []orders.Order {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]orders.Order(nil), f.orders...)
}

func (f *fixed) Order(id string) (orders.Order, bool) {
	for _, o := range f.Orders() {
		if o.ID == id {
			return o, true
		}
	}
	return orders.Order{}, false
}

func (f *fixed) Compliance(_ context.Context, id string, at time.Time) (orders.Report, error) {
	o, ok := f.Order(id)
	if !ok {
		return orders.Report{}, fmt.Errorf("order %q: not found", id)
	}
	zero := 0.0
	effect := dsBlock
	counter := []timeline.Obs{{At: dsBlock.Add(time.Hour), ID: "c0ffee", Probe: "isat-1", Network: isat, Domain: dsDomain, Status: timeline.Accessible}}
	return orders.Report{Order: o, At: at, Status: orders.NonCompliant, Networks: []orders.NetworkReport{
		{Network: isat, Status: orders.NonCompliant, Share: 0, Consistent: 0, Measurements: 200, Counter: counter, CounterTotal: 200,
			Domains: []orders.DomainReport{{Domain: dsDomain, Status: orders.NonCompliant, Current: timeline.Accessible, Measurements: 200, Counter: counter, CounterTotal: 200}}},
		{Network: tsel, Status: orders.Compliant, TimeToEffectS: &zero, Share: 1, Consistent: 170, Measurements: 170,
			Domains: []orders.DomainReport{{Domain: dsDomain, Status: orders.Compliant, Current: timeline.Blocked, Effect: &effect, TimeToEffectS: &zero,
				Share: 1, Consistent: 170, Measurements: 170, Gaps: 1}}},
	}}, nil
}

// PutOrder stores an order whose YAML holds "id: X"; anything else is refused the way
// orders.Parse refuses a missing field.
func (f *fixed) PutOrder(_ context.Context, yaml []byte) (orders.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, yaml)
	for _, line := range strings.Split(string(yaml), "\n") {
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			o := testOrder
			o.ID = id
			f.orders = append(f.orders, o)
			return o, nil
		}
	}
	return orders.Order{}, errors.New("upload.yaml:1: id: required")
}
