package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// grafanaVars are the values Grafana substitutes into a Flux query: template variables
// (${name}, ${name:json}) and its Flux macros (v.timeRangeStart, v.timeRangeStop,
// v.windowPeriod), which Grafana replaces textually with an RFC 3339 time and a duration.
type grafanaVars struct {
	bucket, domain string
	networks       []string
	start, stop    time.Time
	window         time.Duration
}

func (g grafanaVars) substitute(q string) string {
	var nets bytes.Buffer
	enc := json.NewEncoder(&nets)
	enc.SetEscapeHTML(false) // JSON.stringify does not escape HTML
	_ = enc.Encode(g.networks)
	return strings.NewReplacer(
		"${bucket}", g.bucket,
		"${domain}", g.domain,
		"${network:json}", strings.TrimSpace(nets.String()),
		"v.timeRangeStart", g.start.UTC().Format(time.RFC3339Nano),
		"v.timeRangeStop", g.stop.UTC().Format(time.RFC3339Nano),
		"v.windowPeriod", g.window.String(),
	).Replace(q)
}

type row map[string]any

// runFlux runs q and returns its rows (every table's) in order.
func runFlux(ctx context.Context, t *testing.T, url, q string) []row {
	t.Helper()
	c := influxdb2.NewClient(url, "")
	defer c.Close()
	res, err := c.QueryAPI("").Query(ctx, q)
	if err != nil {
		t.Fatalf("flux:\n%s\n%v", q, err)
	}
	defer res.Close()
	var out []row
	for res.Next() {
		out = append(out, row(res.Record().Values()))
	}
	if res.Err() != nil {
		t.Fatalf("flux:\n%s\n%v", q, res.Err())
	}
	return out
}

// TestQueriesAgainstInfluxDB writes measurements of three networks with the collector's
// store and runs every query of the dashboard, substituted as Grafana does, on them.
//
// Hour 0..3 from t0, a measurement every 15 minutes by each probe: "net-blocked" (two
// probes) sees t.me blocked by DNS, "net open" sees it accessible but measured nothing in
// hour 1 (a gap), "net-down" sees it down. example.org is accessible on "net open".
func TestQueriesAgainstInfluxDB(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t0 := writeFixture(ctx, t, url, bucket)

	d := loadDashboard(t)
	vars := grafanaVars{bucket: bucket, domain: "t.me", start: t0, stop: t0.Add(3 * time.Hour), window: time.Hour,
		networks: []string{"net open", "net-blocked", "net-down"}}
	q := func(name string) string {
		t.Helper()
		query, ok := d.queries()[name]
		if !ok {
			t.Fatalf("no query %q in %v", name, slices.Sorted(maps.Keys(d.queries())))
		}
		return vars.substitute(query)
	}

	t.Run("domain variable", func(t *testing.T) {
		got := column(runFlux(ctx, t, url, q("variable domain")), "_value")
		if want := []string{"example.org", "t.me"}; !slices.Equal(got, want) {
			t.Errorf("domains %q, want %q", got, want)
		}
	})
	t.Run("network variable", func(t *testing.T) {
		got := column(runFlux(ctx, t, url, q("variable network")), "_value")
		if want := []string{"net open", "net-blocked", "net-down"}; !slices.Equal(got, want) {
			t.Errorf("networks %q, want %q", got, want)
		}
	})
	t.Run("heatmap", func(t *testing.T) {
		got := map[string][]string{}
		for _, r := range runFlux(ctx, t, url, q("panel ${domain}: verdicts by network A")) {
			got[r["network"].(string)] = append(got[r["network"].(string)], fmt.Sprintf("%s %v", r["_time"].(time.Time).Sub(t0), r["_value"]))
		}
		if want := fixtureCells; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("heatmap cells\n got %v\nwant %v", got, want)
		}
	})
	t.Run("blocked share", func(t *testing.T) {
		share := map[string][]float64{}
		for _, r := range runFlux(ctx, t, url, q("panel ${domain}: share of measurements blocked A")) {
			share[r["network"].(string)] = append(share[r["network"].(string)], r["_value"].(float64))
		}
		want := map[string][]float64{"net-blocked": {1, 1, 1}, "net open": {0, 0}, "net-down": {0, 0, 0}}
		if fmt.Sprint(share) != fmt.Sprint(want) {
			t.Errorf("blocked share per network and hour %v, want %v", share, want)
		}
	})
	t.Run("last measurements", func(t *testing.T) {
		rows := runFlux(ctx, t, url, q("panel ${domain}: last measurements A"))
		// 12 per probe on t.me, 8 for o1 (its gap): 12+12+8+12 = 44, newest first.
		if len(rows) != 44 {
			t.Fatalf("%d rows, want 44", len(rows))
		}
		for i, r := range rows {
			want := map[string]string{"net-blocked": "blocked", "net open": "accessible", "net-down": "down"}[r["network"].(string)]
			if r["status"] != want || r["reason"] != "test "+want || !strings.HasPrefix(r["id"].(string), r["probe"].(string)+"-t.me-") {
				t.Errorf("row %d: %v: want status %s and an id of its probe", i, r, want)
			}
			if (want == "blocked") != (r["method"] == "dns") {
				t.Errorf("row %d: method %v", i, r["method"])
			}
			if i > 0 && r["_time"].(time.Time).After(rows[i-1]["_time"].(time.Time)) {
				t.Errorf("row %d is newer than row %d", i, i-1)
			}
		}
		if newest := rows[0]["_time"].(time.Time); newest.Before(t0.Add(165 * time.Minute)) {
			t.Errorf("newest row at %v, want the last measurement (t0+2h45m)", newest.Sub(t0))
		}
	})
}

func column(rows []row, name string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r[name]))
	}
	return out
}

// writeFixture writes the test measurements with the collector's store and returns t0: hour
// 0..3 from t0, a measurement every 15 minutes by each probe: "net-blocked" (two probes) sees
// t.me blocked by DNS, "net open" sees it accessible but measured nothing in hour 1 (a gap),
// "net-down" sees it down. example.org is accessible on "net open".
// fixtureCells is the heatmap writeFixture's data makes, per network: the cell's offset
// from the returned start, and its state ("no data" for the hour without measurements).
var fixtureCells = map[string][]string{
	"net-blocked": {"0s blocked", "1h0m0s blocked", "2h0m0s blocked"},
	"net open":    {"0s accessible", "1h0m0s no data", "2h0m0s accessible"},
	"net-down":    {"0s down", "1h0m0s down", "2h0m0s down"},
}

func writeFixture(ctx context.Context, t *testing.T, url, bucket string) time.Time {
	t.Helper()
	st, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: 30 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)
	type src struct{ probe, network, domain, status, method string }
	srcs := []src{
		{"b1", "net-blocked", "t.me", "blocked", "dns"},
		{"b2", "net-blocked", "t.me", "blocked", "dns"},
		{"o1", "net open", "t.me", "accessible", ""},
		{"o1", "net open", "example.org", "accessible", ""},
		{"d1", "net-down", "t.me", "down", ""},
	}
	var items []store.Item
	for i := range 12 {
		for _, s := range srcs {
			if s.network == "net open" && i >= 4 && i < 8 {
				continue // no coverage in hour 1
			}
			items = append(items, store.Item{
				Probe: store.Identity{Probe: s.probe, Network: s.network, Country: "ID", ASN: 64500},
				M: &measurement.Measurement{
					ID: fmt.Sprintf("%s-%s-%02d", s.probe, s.domain, i), SchemaVersion: measurement.SchemaVersion,
					Target: "https://" + s.domain + "/", Kind: measurement.KindWeb, Domain: s.domain, Port: 443,
					StartedAt: t0.Add(time.Duration(i) * 15 * time.Minute), Schedule: "telegram",
					Verdict: measurement.Verdict{Status: s.status, Method: s.method, Reason: "test " + s.status},
				},
				ReceivedAt: t0.Add(time.Duration(i)*15*time.Minute + time.Second),
			})
		}
	}
	if err := st.Write(ctx, items); err != nil {
		t.Fatal(err)
	}
	return t0
}
