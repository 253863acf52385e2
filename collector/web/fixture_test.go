package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/orders"
	"github.com/pantau-dev/pantau/timeline"
)

// testParams confirm states as the defaults do; probes measure hourly, so silence counts
// as a gap after three hours.
var testParams = timeline.Params{K: 3, M: 2, MaxSilence: 3 * time.Hour}

// engine is Data computed by the real timeline and orders packages from the data set's
// measurements in memory (what collector/report does from storage).
type engine struct {
	obs    []timeline.Obs
	mu     sync.Mutex
	orders []orders.Order
	puts   int // PutOrder calls
}

// testOrderYAML orders t.me blocked on both networks of the data set from 14 July.
const testOrderYAML = `id: test-block
title: Block t.me
authority: Kominfo
reference: T-1/2017
domains: [t.me]
expect: blocked
effective: 2017-07-14T00:00:00Z
grace: 1d
networks: [Telkomsel, Indosat Ooredoo]
`

// badOrderYAML misspells the expected state on line 6.
var badOrderYAML = strings.Replace(testOrderYAML, "expect: blocked", "expect: blockd", 1)

func newEngine(items []store.Item) *engine {
	e := &engine{orders: orders.Seeds()}
	for _, it := range items {
		e.obs = append(e.obs, timeline.Obs{At: store.PointTime(it.M), ID: it.M.ID, Probe: it.Probe.Probe, Network: it.Probe.Network,
			Domain: it.M.Domain, Status: timeline.State(it.M.Verdict.Status), Method: it.M.Verdict.Method})
	}
	if _, err := e.PutOrder(context.Background(), []byte(testOrderYAML)); err != nil {
		panic(err)
	}
	e.puts = 0
	return e
}

func (e *engine) Timelines(_ context.Context, q report.Query) ([]timeline.Timeline, error) {
	var out []timeline.Timeline
	for _, tl := range timeline.BuildAll(e.obs, nil, q.From, q.To, testParams) {
		if tl.Domain == q.Domain && (q.Network == "" || q.Network == tl.Network) {
			out = append(out, tl)
		}
	}
	return out, nil
}

func (e *engine) Orders() []orders.Order {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]orders.Order(nil), e.orders...)
}

func (e *engine) Order(id string) (orders.Order, bool) {
	for _, o := range e.Orders() {
		if o.ID == id {
			return o, true
		}
	}
	return orders.Order{}, false
}

func (e *engine) Compliance(_ context.Context, id string, at time.Time) (orders.Report, error) {
	o, ok := e.Order(id)
	if !ok {
		return orders.Report{}, fmt.Errorf("order %q: not found", id)
	}
	return orders.Comply(o, timeline.BuildAll(e.obs, nil, o.Effective.Add(-orders.Lookback), at, testParams), e.obs, at), nil
}

func (e *engine) PutOrder(_ context.Context, yaml []byte) (orders.Order, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.puts++
	o, err := orders.Parse("upload.yaml", yaml)
	if err != nil {
		return o, err
	}
	for i := range e.orders {
		if e.orders[i].ID == o.ID {
			e.orders[i] = o
			return o, nil
		}
	}
	e.orders = append(e.orders, o)
	return o, nil
}
