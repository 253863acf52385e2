package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
	"github.com/pantau-dev/pantau/probe/uplink"
	"github.com/pantau-dev/pantau/schedules"
)

func heartbeat(now time.Time) *measurement.Heartbeat {
	return &measurement.Heartbeat{SentAt: now, Software: measurement.Software{Name: "pantau", Version: "1.0"},
		SchedulesHash: "abc", Schedules: []measurement.ScheduleStatus{{Name: "lab", LastStart: now.Add(-time.Minute),
			LastEnd: now.Add(-30 * time.Second), Measurements: 8, Next: now.Add(time.Hour)}},
		SpoolDepth: 3, SpoolBytes: 1000, Dropped: 1, Rejected: 2, Corrupt: 0, Pruned: 4, ClockOffsetMS: -12.5}
}

func TestHeartbeat(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	hdr := bearer(token(t, claims))
	r := do(t, http.MethodPost, f.url+"/api/v1/heartbeats", []byte(measurementtest.JSON(t, heartbeat(now))), hdr)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	if st := decode[api.HeartbeatReply](t, r).ServerTime; st.Before(now.Add(-time.Second)) || st.After(time.Now()) {
		t.Errorf("server_time %s", st)
	}
	rows := influxtest.Query(t, f.influx, f.bucket, `SELECT "spool_depth", "pruned", "probe", "network", "asn", "country" FROM "probe_status"`)
	if len(rows) != 1 || len(rows[0].Values) != 1 {
		t.Fatalf("probe_status %+v", rows)
	}
	row := rows[0].Rows()[0]
	if row["probe"] != claims.Probe || row["network"] != claims.Network || row["asn"] != "23693" || row["country"] != "ID" ||
		row["spool_depth"].(json.Number) != "3" || row["pruned"].(json.Number) != "4" {
		t.Errorf("stored %v", row)
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"sent_at":"` + now.Format(time.RFC3339) + `","software":{"name":"pantau"},"probe":"x"}`, 400, `heartbeat: unknown field "probe"`},
		{`{"sent_at":5}`, 400, `heartbeat: sent_at: cannot be a number (want an RFC 3339 time string)`},
		{`{"sent_at":"` + now.Format(time.RFC3339) + `","software":{"name":""}}`, 422, `heartbeat: software.name: required`},
	} {
		r := do(t, http.MethodPost, f.url+"/api/v1/heartbeats", []byte(tc.body), hdr)
		if r.status != tc.status || r.errorText(t) != tc.want {
			t.Errorf("%s: HTTP %d %s, want %d %q", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	if r := do(t, http.MethodPost, f.url+"/api/v1/heartbeats", []byte(measurementtest.JSON(t, heartbeat(now))), nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: HTTP %d", r.status)
	}
	if got := f.metric(t, "pantau_heartbeats_total"); got != "1" {
		t.Errorf("heartbeats %s, want 1", got)
	}
}

func TestSchedules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("lab.yaml", "name: lab\ncron: \"@every 1h\"\ntargets: [t.me]\nlists:\n  - path: lists/lab.txt\n")
	write("lists/lab.txt", "web.telegram.org\n")
	f := newFixture(t, func(o *api.Options) { o.SchedulesDir = dir })
	hdr := bearer(token(t, claims))
	r := do(t, http.MethodGet, f.url+"/api/v1/schedules", nil, hdr)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	set, err := schedules.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	got := decode[api.ScheduleSet](t, r)
	if got.Hash != set.Hash || r.header.Get("ETag") != `"`+set.Hash+`"` || len(got.Files) != 2 || got.Files["lists/lab.txt"] != "web.telegram.org\n" {
		t.Errorf("set %+v, ETag %s; want hash %s", got, r.header.Get("ETag"), set.Hash)
	}
	h := bearer(token(t, claims))
	h["If-None-Match"] = r.header.Get("ETag")
	if r := do(t, http.MethodGet, f.url+"/api/v1/schedules", nil, h); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: HTTP %d", r.status)
	}
	if r := do(t, http.MethodGet, f.url+"/api/v1/schedules", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: HTTP %d", r.status)
	}
	// A set that does not load is not served.
	write("broken.yaml", "name: broken\ncron: never\n")
	if r := do(t, http.MethodGet, f.url+"/api/v1/schedules", nil, hdr); r.status != http.StatusInternalServerError ||
		r.errorText(t) != "the collector's schedule set does not load" {
		t.Errorf("broken set: HTTP %d %s", r.status, r.body)
	}
	// Without a folder: none.
	f = newFixture(t)
	if r := do(t, http.MethodGet, f.url+"/api/v1/schedules", nil, hdr); r.status != http.StatusNotFound {
		t.Errorf("no schedules: HTTP %d %s", r.status, r.body)
	}
}

// TestUplinkClient runs the probe's own uplink client against the API: a batch, a
// heartbeat and a schedule sync.
func TestUplinkClient(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lab.yaml"), []byte("name: lab\ncron: \"@every 1h\"\ntargets: [t.me]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *api.Options) { o.SchedulesDir = dir })
	c, err := uplink.New(uplink.Options{Collector: f.url, Token: token(t, claims), Retries: 1, MinWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	good, bad := measurementtest.Full("t.me", time.Now().Add(-time.Hour)), measurementtest.Simple("t.me", time.Now().Add(-time.Hour))
	bad.Port = 70000
	res, err := c.Submit(ctx, []*measurement.Measurement{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 1 || res.Accepted[0] != good.ID || len(res.Rejected) != 1 ||
		res.Rejected[0].Reason != "measurements[1]: port: 70000 is out of range" {
		t.Errorf("result %+v", res)
	}
	if _, err := c.Heartbeat(ctx, heartbeat(time.Now())); err != nil {
		t.Errorf("heartbeat: %v", err)
	}
	set, etag, err := c.Schedules(ctx, "")
	if err != nil || set == nil || len(set.Files) != 1 {
		t.Fatalf("schedules: %+v %q %v", set, etag, err)
	}
	if again, tag2, err := c.Schedules(ctx, etag); err != nil || again != nil || tag2 != etag {
		t.Errorf("unchanged schedules: %+v %q %v", again, tag2, err)
	}
	if n := f.count(t, store.Reach); n != 1 {
		t.Errorf("%d reach points, want 1", n)
	}
}
