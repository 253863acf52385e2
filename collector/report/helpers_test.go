package report_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// The fixture: July 2017, hourly measurements of the 11 names of the seed block order by
// four probes on three networks, heartbeats every hour at :30.
var (
	start  = time.Date(2017, 7, 10, 0, 0, 0, 0, time.UTC)
	end    = time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC)
	tselOn = time.Date(2017, 7, 14, 3, 0, 0, 0, time.UTC) // Telkomsel blocks from here
	xlOn   = time.Date(2017, 7, 15, 0, 0, 0, 0, time.UTC) // XL Axiata blocks from here
	isatOn = time.Date(2017, 7, 14, 6, 0, 0, 0, time.UTC) // Indosat blocks all but t.me
	probes = []store.Identity{
		{Probe: "tsel-1", Network: "Telkomsel", Country: "ID", ASN: 23693},
		{Probe: "tsel-2", Network: "Telkomsel", Country: "ID", ASN: 23693},
		{Probe: "xl-1", Network: "XL Axiata", Country: "ID", ASN: 24203},
		{Probe: "isat-1", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761},
	}
)

// blockedFrom is when a probe's network starts blocking domain (zero: never).
func blockedFrom(network, domain string) time.Time {
	switch network {
	case "Telkomsel":
		return tselOn
	case "XL Axiata":
		return xlOn
	case "Indosat Ooredoo":
		if domain != "t.me" {
			return isatOn
		}
	}
	return time.Time{}
}

func seedBlock(t testing.TB) orders.Order {
	for _, o := range orders.Seeds() {
		if o.ID == "kominfo-2017-telegram-block" {
			return o
		}
	}
	t.Fatal("no seed block order")
	return orders.Order{}
}

// measure is a small valid measurement; a reason with HTML characters checks that raw
// JSON is served exactly as stored.
func measure(domain string, at time.Time, status, method string) *measurement.Measurement {
	return &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web", Domain: domain,
		Port: 443, StartedAt: at, RuntimeMS: 100, Software: measurement.Software{Name: "pantau", Version: "test"},
		Resolvers: []measurement.ResolverInfo{}, Fingerprints: []measurement.FingerprintMatch{},
		Observations: measurement.Observations{DNS: []measurement.DNSQuery{}, TCP: []measurement.TCPConnect{},
			TLS: []measurement.TLSHandshake{}, HTTP: []measurement.HTTPRequest{}},
		Verdict: measurement.Verdict{Status: status, Method: method, Reason: "<title>Internet Positif</title> & more", Evidence: []string{}},
	}
}

// fixture writes the data set into a fresh database and returns a store on it, the
// InfluxDB URL and the bucket.
func fixture(t testing.TB) (*store.Store, string, string) {
	t.Helper()
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	st, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var items []store.Item
	for at := start; at.Before(end); at = at.Add(time.Hour) {
		for i, p := range probes {
			for _, d := range seedBlock(t).Domains {
				m := measure(d, at.Add(time.Duration(i)*time.Minute), "accessible", "")
				if on := blockedFrom(p.Network, d); !on.IsZero() && !m.StartedAt.Before(on) {
					m.Verdict.Status, m.Verdict.Method = "blocked", "dns"
				}
				items = append(items, store.Item{M: m, Probe: p, Geo: store.Geo{ASN: p.ASN, Org: "ISP " + p.Network},
					ReceivedAt: m.StartedAt.Add(2 * time.Minute)})
			}
		}
	}
	for i := 0; i < len(items); i += 2000 {
		if err := st.Write(ctx(t), items[i:min(i+2000, len(items))]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var failed atomic.Value
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := start.Add(30 * time.Minute); at.Before(end); at = at.Add(time.Hour) {
				it := store.HeartbeatItem{H: &measurement.Heartbeat{SentAt: at}, Probe: p, ReceivedAt: at}
				if err := st.WriteHeartbeat(context.Background(), it); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	return st, url, bucket
}

// counting is a Source that counts the reads of observations and remembers their filters.
type counting struct {
	report.Source
	mu      sync.Mutex
	filters []store.ObsFilter
}

func (c *counting) Observations(ctx context.Context, f store.ObsFilter) ([]timeline.Obs, error) {
	c.mu.Lock()
	c.filters = append(c.filters, f)
	c.mu.Unlock()
	return c.Source.Observations(ctx, f)
}

func (c *counting) reads() []store.ObsFilter {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.filters
	c.filters = nil
	return out
}

func newService(t testing.TB, src report.Source, dir string, now time.Time) *report.Service {
	t.Helper()
	s, err := report.New(report.Config{Source: src, OrdersDir: dir, Now: func() time.Time { return now }}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func trunc(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func join(ss ...string) string { return strings.Join(ss, " ") }

// The collector's store is a Source.
var _ report.Source = (*store.Store)(nil)
