package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestSeriesCap runs the API on an InfluxDB whose limits are low (20 values per tag, 50
// series): one token flooding made-up domains gets its allowance of new domains and no
// more, each further item refused on its own with the reason; honest probes keep
// writing; and when InfluxDB's own limit is reached anyway (several flooding tokens), its
// answer is unavailable, 503 with Retry-After, so honest data is retried, not dropped.
func TestSeriesCap(t *testing.T) {
	in := influxtest.Start(t, "INFLUXDB_DATA_MAX_SERIES_PER_DATABASE=50", "INFLUXDB_DATA_MAX_VALUES_PER_TAG=20")
	f := fixtureOn(t, in.URL(), in.NewBucket(t), func(o *api.Options) { o.SeriesCap = auth.NewSeriesCap(5, 2) })
	start := time.Now().Add(-time.Hour)
	flood := func(probe string, n int) []*measurement.Measurement {
		var ms []*measurement.Measurement
		for i := range n {
			ms = append(ms, measurementtest.Simple(fmt.Sprintf("%s-%02d.example", probe, i), start.Add(time.Duration(i)*time.Second)))
		}
		return ms
	}
	floodTok := token(t, auth.Claims{Probe: "flood-1", Network: "Telkomsel", Country: "ID", ASN: 23693})
	r := f.post(t, floodTok, batch(t, flood("flood-1", 30)...), nil)
	resp := decode[api.IngestResponse](t, r)
	if r.status != http.StatusOK || resp.Accepted != 5 || resp.Rejected != 25 {
		t.Fatalf("flood: HTTP %d %s", r.status, r.body)
	}
	for i, it := range resp.Items {
		want := fmt.Sprintf(`measurements[%d]: domain: "flood-1-%02d.example" would be a new domain of probe flood-1 beyond its allowance of 5 new domains an hour (limits.new_domains_per_hour)`, i, i)
		if i < 5 {
			want = ""
		}
		if it.Error != want || it.ID == "" {
			t.Errorf("item %d: %+v, want error %q", i, it, want)
		}
	}
	// The same domains again are free: the probe's retry of what was accepted goes through.
	if r := f.post(t, floodTok, batch(t, flood("flood-1", 5)...), nil); r.status != http.StatusOK || decode[api.IngestResponse](t, r).Accepted != 5 {
		t.Errorf("known domains again: HTTP %d %s", r.status, r.body)
	}
	honest := token(t, claims)
	f.submit(t, honest, measurementtest.Simple("t.me", start), measurementtest.Simple("web.telegram.org", start))

	// More tokens flood, each within its allowance, until InfluxDB's limit of 20 domains
	// is passed (1.8 checks it against the values before each request, so a request may
	// take it a little past): the write that meets the limit is unavailable, not refused.
	var over reply
	for i := 2; i < 10 && over.status == 0; i++ {
		p := fmt.Sprint("flood-", i)
		tok := token(t, auth.Claims{Probe: p, Network: "Telkomsel", Country: "ID", ASN: 23693})
		switch r := f.post(t, tok, batch(t, flood(p, 5)...), nil); {
		case r.status != http.StatusOK:
			over = r
		case decode[api.IngestResponse](t, r).Accepted != 5:
			t.Fatalf("%s: HTTP %d %s", p, r.status, r.body)
		}
	}
	if over.status != http.StatusServiceUnavailable || over.header.Get("Retry-After") != "5" ||
		over.errorText(t) != "storage unavailable; no measurement was acknowledged, retry later" {
		t.Errorf("past InfluxDB's limit: HTTP %d %v %s, want 503 with Retry-After", over.status, over.header, over.body)
	}
	// Honest probes still write their domains, the known probe and a new one alike.
	f.submit(t, honest, measurementtest.Simple("t.me", start.Add(time.Minute)))
	other := token(t, auth.Claims{Probe: "sby-indosat-01", Network: "Indosat", Country: "ID", ASN: 4761})
	f.submit(t, other, measurementtest.Simple("t.me", start.Add(time.Minute)))

	if got := f.metric(t, `pantau_series_cap_refused_total{field="domain"}`); got != "25" {
		t.Errorf("refused domains metric %s, want 25", got)
	}
}

// TestSeriesCapHeartbeats: a heartbeat naming more new schedules than its probe's
// allowance holds is refused whole, with the reason; known names are free.
func TestSeriesCapHeartbeats(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.SeriesCap = auth.NewSeriesCap(5, 2) })
	tok := token(t, claims)
	beat := func(names ...string) reply {
		hb := measurement.Heartbeat{SentAt: time.Now(), Software: measurement.Software{Name: "pantau", Version: "test"}}
		for _, n := range names {
			hb.Schedules = append(hb.Schedules, measurement.ScheduleStatus{Name: n})
		}
		b, err := json.Marshal(hb)
		if err != nil {
			t.Fatal(err)
		}
		return do(t, http.MethodPost, f.url+"/api/v1/heartbeats", b, bearer(tok))
	}
	for _, tc := range []struct {
		names []string
		code  int
		want  string
	}{
		{[]string{"s1", "s2", "s3"}, http.StatusUnprocessableEntity,
			`heartbeat: schedule: "s1" would be a new schedule of probe jkt-telkomsel-01 beyond its allowance of 2 new schedules an hour (limits.new_schedules_per_hour)`},
		{[]string{"s1", "s2"}, http.StatusOK, ""},
		{[]string{"s1", "s2", "s1"}, http.StatusOK, ""},
		{[]string{"s2", "made-up"}, http.StatusUnprocessableEntity,
			`heartbeat: schedule: "made-up" would be a new schedule of probe jkt-telkomsel-01 beyond its allowance of 2 new schedules an hour (limits.new_schedules_per_hour)`},
		{nil, http.StatusOK, ""},
	} {
		r := beat(tc.names...)
		if r.status != tc.code || tc.want != "" && r.errorText(t) != tc.want {
			t.Errorf("heartbeat %q: HTTP %d %s, want %d %q", tc.names, r.status, r.body, tc.code, tc.want)
		}
	}
	if got := f.metric(t, `pantau_series_cap_refused_total{field="schedule"}`); got != "4" {
		t.Errorf("refused schedules metric %s, want 4", got)
	}
	if got := f.metric(t, "pantau_series_cap_remembered"); got != "2" {
		t.Errorf("remembered %s, want 2", got)
	}
	if n := influxtest.Count(t, f.influx, f.bucket, "probe_status", "sent_at_ms"); n != 3 {
		t.Errorf("%d heartbeats stored, want the 3 admitted", n)
	}
}
