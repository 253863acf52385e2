package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := do(t, http.MethodGet, f.url+p, nil, nil); r.status != http.StatusOK {
			t.Errorf("%s: HTTP %d %s", p, r.status, r.body)
		}
	}
	start := time.Now()
	m := measurementtest.Simple("a.example", start.Add(-time.Hour))
	bad := measurementtest.Simple("b.example", start.Add(-time.Hour))
	bad.Kind = "ftp"
	tok := token(t, claims)
	f.submit(t, tok, m, measurementtest.Full("c.example", start.Add(-time.Hour)))
	if r := f.post(t, tok, batch(t, bad, m), nil); r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	do(t, http.MethodPost, f.url+"/api/v1/measurements", batch(t, m), nil) // no token
	end := time.Now()

	r := do(t, http.MethodGet, f.url+"/metrics", nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/plain; version=0.0.4" {
		t.Fatalf("HTTP %d %v", r.status, r.header)
	}
	for name, want := range map[string]string{
		`pantau_ingest_measurements_total{result="accepted"}`: "3",
		`pantau_ingest_measurements_total{result="rejected"}`: "1",
		`pantau_ingest_bad_requests_total`:                    "0",
		`pantau_auth_failures_total`:                          "1",
		`pantau_rate_limited_total`:                           "0",
		`pantau_influx_errors_total`:                          "0",
		`pantau_influx_write_seconds_count`:                   "2",
		`pantau_influx_write_seconds_bucket{le="+Inf"}`:       "2",
	} {
		if got := f.metric(t, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if sum, err := strconv.ParseFloat(f.metric(t, "pantau_influx_write_seconds_sum"), 64); err != nil || sum <= 0 || sum > end.Sub(start).Seconds() {
		t.Errorf("write seconds sum %v (%v)", sum, err)
	}
	seen, err := strconv.ParseInt(f.metric(t, `pantau_probe_last_seen_timestamp_seconds{probe="jkt-telkomsel-01"}`), 10, 64)
	if err != nil || seen < start.Unix() || seen > end.Unix() {
		t.Errorf("last seen %d (%v), want within [%d, %d]", seen, err, start.Unix(), end.Unix())
	}
	// Histogram buckets are cumulative.
	prev := int64(0)
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, "pantau_influx_write_seconds_bucket{"); ok {
			n, _ := strconv.ParseInt(v[strings.LastIndexByte(v, ' ')+1:], 10, 64)
			if n < prev {
				t.Errorf("bucket %s below the previous one", line)
			}
			prev = n
		}
	}
}

// TestInfluxDown stops a private InfluxDB: ingest answers 503 with Retry-After and
// acknowledges nothing, readiness fails; after a restart the probe's retry stores every
// measurement exactly once.
func TestInfluxDown(t *testing.T) {
	in := influxtest.Start(t)
	f := fixtureOn(t, in.URL(), in.NewBucket(t))
	tok := token(t, claims)
	start := time.Now().Add(-time.Hour)
	var first, second []*measurement.Measurement
	for i := range 3 {
		first = append(first, measurementtest.Full("a.example", start.Add(time.Duration(i)*time.Second)))
		second = append(second, measurementtest.Simple("b.example", start.Add(time.Duration(i)*time.Second)))
	}
	f.submit(t, tok, first...)

	in.Stop()
	// Readiness says storage is down without naming InfluxDB's address.
	if r := do(t, http.MethodGet, f.url+"/readyz", nil, nil); r.status != http.StatusServiceUnavailable ||
		string(r.body) != `{"error":"storage unavailable","status":"unavailable"}`+"\n" || strings.Contains(string(r.body), strings.TrimPrefix(in.URL(), "http://")) {
		t.Errorf("readyz with InfluxDB down: HTTP %d %s", r.status, r.body)
	}
	r := f.post(t, tok, gz(t, batch(t, second...)), map[string]string{"Content-Encoding": "gzip"})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "5" ||
		r.errorText(t) != "storage unavailable; no measurement was acknowledged, retry later" {
		t.Errorf("ingest with InfluxDB down: HTTP %d %v %s", r.status, r.header, r.body)
	}
	if r := do(t, http.MethodGet, f.url+"/api/v1/measurements", nil, nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("query with InfluxDB down: HTTP %d %s", r.status, r.body)
	}
	if got := f.metric(t, "pantau_influx_errors_total"); got != "1" {
		t.Errorf("influx errors %s, want 1", got)
	}
	if got := f.metric(t, `pantau_ingest_measurements_total{result="accepted"}`); got != "3" {
		t.Errorf("accepted %s, want 3 (nothing while InfluxDB was down)", got)
	}

	in.Restart()
	if r := do(t, http.MethodGet, f.url+"/readyz", nil, nil); r.status != http.StatusOK {
		t.Errorf("readyz after the restart: HTTP %d %s", r.status, r.body)
	}
	f.submit(t, tok, second...) // the probe's retry
	seen := map[string]int{}
	for _, it := range f.all(t, "probe="+claims.Probe+"&"+window(), 2) {
		seen[it.Measurement.ID]++
	}
	for _, m := range append(first, second...) {
		if seen[m.ID] != 1 {
			t.Errorf("%s stored %d times, want once", m.ID, seen[m.ID])
		}
	}
	if len(seen) != 6 || f.count(t, store.Reach) != 6 {
		t.Errorf("%d measurements returned, %d reach points; want 6", len(seen), f.count(t, store.Reach))
	}
}

// TestDefaults: zero options take the documented defaults.
func TestDefaults(t *testing.T) {
	f := newFixture(t, func(o *api.Options) {
		o.Limiter = nil
		o.BodyBytes, o.BatchItems, o.QueryLimit, o.MaxInFlight = 0, 0, 5000, 0
	})
	r := do(t, http.MethodGet, f.url+"/api/v1/measurements?limit=1001", nil, nil)
	if r.errorText(t) != `limit: "1001" is not a number from 1 to 1000` {
		t.Errorf("query limit: %s", r.body)
	}
	var ms []*measurement.Measurement
	for range api.DefaultBatchItems + 1 {
		ms = append(ms, measurementtest.Simple("a.example", time.Now().Add(-time.Hour)))
	}
	if r := f.post(t, token(t, claims), batch(t, ms...), nil); r.status != http.StatusRequestEntityTooLarge ||
		r.errorText(t) != "body: more than 1000 measurements in one batch" {
		t.Errorf("batch limit: HTTP %d %s", r.status, r.body)
	}
	f.submit(t, token(t, claims), ms[:api.DefaultBatchItems]...)
}
