package alert_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// receiver is a real webhook endpoint on 127.0.0.1 that records what it accepts and answers
// 500 to the next fail requests.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	fail     int
	attempts int
	got      []delivery
}

type delivery struct {
	body   string
	header http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if err != nil || req.Method != http.MethodPost || r.fail > 0 {
			r.fail--
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		r.got = append(r.got, delivery{string(b), req.Header.Clone()})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setFail(n int) {
	r.mu.Lock()
	r.fail = n
	r.mu.Unlock()
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) bodies() []string {
	var out []string
	for _, d := range r.deliveries() {
		out = append(out, d.body)
	}
	return out
}

// data serves timelines built by the timeline engine from observations, and compliance
// reports, from memory, as report.Service does from storage.
type data struct {
	mu      sync.Mutex
	obs     []timeline.Obs
	orders  []orders.Order
	reports map[string]orders.Report
	queries []report.Query
}

func (d *data) Timelines(ctx context.Context, q report.Query) ([]timeline.Timeline, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, q)
	var out []timeline.Timeline
	for _, tl := range timeline.BuildAll(d.obs, nil, q.From, q.To, timeline.Params{}) {
		if tl.Domain == q.Domain && (q.Network == "" || tl.Network == q.Network) {
			out = append(out, tl)
		}
	}
	return out, nil
}

// add adds observations of (domain, network) from two probes in [from, to): the first
// every 15 minutes from from, the second 7 minutes after each.
func (d *data) add(domain, network string, from, to time.Time, st timeline.State, method string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for t := from; t.Before(to); t = t.Add(15 * time.Minute) {
		for i, at := range []time.Time{t, t.Add(7 * time.Minute)} {
			probe := fmt.Sprintf("%s-%d", strings.ToLower(network), i+1)
			d.obs = append(d.obs, timeline.Obs{At: at, ID: fmt.Sprintf("%s-%s-%d", probe, domain, at.Unix()), Probe: probe,
				Network: network, Domain: domain, Status: st, Method: method})
		}
	}
}

func (d *data) Orders() []orders.Order {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.orders
}

// Compliance answers a report set with setReport, else computes the order's compliance from
// the observations as report.Service does: timelines of the order's scope over
// [Effective-Lookback, at), then orders.Comply.
func (d *data) Compliance(ctx context.Context, id string, at time.Time) (orders.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.reports[id]; ok {
		r.At = at
		return r, nil
	}
	i := slices.IndexFunc(d.orders, func(o orders.Order) bool { return o.ID == id })
	if i < 0 {
		return orders.Report{}, fmt.Errorf("order %s: not found", id)
	}
	o := d.orders[i]
	var tls []timeline.Timeline
	for _, domain := range o.Domains {
		for _, network := range o.Networks {
			tls = append(tls, timeline.Build(domain, network, d.obs, nil, o.Effective.Add(-orders.Lookback), at, timeline.Params{}))
		}
	}
	return orders.Comply(o, tls, d.obs, at), nil
}

func (d *data) setReport(r orders.Report) {
	d.mu.Lock()
	if d.reports == nil {
		d.reports = map[string]orders.Report{}
	}
	d.reports[r.Order.ID] = r
	d.mu.Unlock()
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func newWatcher(t *testing.T, cfg alert.Config, d alert.Data, c *clock) *alert.Watcher {
	t.Helper()
	w, err := alert.New(cfg, d, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	alert.SetClock(w, c.now)
	alert.SetBackoff(w, 10*time.Millisecond, 50*time.Millisecond)
	return w
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
