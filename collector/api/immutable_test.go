package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// forger is a second probe, on another network, that submits other probes' IDs.
var forger = auth.Claims{Probe: "evil-01", Network: "Evilnet", Country: "ID", ASN: 64500}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// storeOf opens a store on the fixture's bucket, to read what the API stored.
func (f *fixture) storeOf(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.New(store.Config{URL: f.influx, Bucket: f.bucket, Timeout: 20 * time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// stored returns the measurements stored by probe, newest first.
func (f *fixture) stored(t *testing.T, probe string) []store.StoredMeasurement {
	t.Helper()
	got, _, err := f.storeOf(t).Measurements(ctx(t), store.Filter{Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// spaced is the JSON of m as a probe may send it: white space between the tokens and
// escapes encoding/json does not write.
func spaced(t *testing.T, m *measurement.Measurement) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(measurementtest.JSON(t, m)), "\r\n", "\t "); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(buf.String(), `"target": "https://`, `"target" :	"https:\/\/`, 1)
}

// TestIngestImmutable: the same bytes again are accepted and change nothing; the same ID
// with other bytes is a conflict (409 naming the ID when it is the whole batch; its own
// status in a batch), counted, and changes nothing; another probe's submission of the
// same ID is its own measurement, and each probe reads back its own.
func TestIngestImmutable(t *testing.T) {
	f := newFixture(t)
	tok, evil := token(t, claims), token(t, forger)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	m, n := measurementtest.Simple("a.example", start), measurementtest.Simple("b.example", start)
	first := "[" + measurementtest.JSON(t, m) + "]"
	if r := f.post(t, tok, []byte(first), nil); r.status != http.StatusOK {
		t.Fatalf("first submission: HTTP %d %s", r.status, r.body)
	}
	changed := *m
	changed.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "rewritten", Evidence: []string{}}
	conflict := func(i int, other string) string {
		return fmt.Sprintf("measurements[%d]: id %s: already stored with other content (sha256 %s; this is %s): a stored measurement never changes",
			i, m.ID, sha(measurementtest.JSON(t, m)), sha(other))
	}
	for _, tc := range []struct {
		name   string
		tok    string
		body   string
		status int
		items  []api.ItemResult
		errMsg string
	}{
		{"same bytes", tok, first, 200, []api.ItemResult{{Index: 0, ID: m.ID, Status: "accepted"}}, ""},
		{"same measurement, other bytes", tok, "[" + spaced(t, m) + "]", 409,
			[]api.ItemResult{{Index: 0, ID: m.ID, Status: "conflict", Error: conflict(0, spaced(t, m))}}, conflict(0, spaced(t, m))},
		{"other content", tok, "[" + measurementtest.JSON(t, &changed) + "]", 409,
			[]api.ItemResult{{Index: 0, ID: m.ID, Status: "conflict", Error: conflict(0, measurementtest.JSON(t, &changed))}}, conflict(0, measurementtest.JSON(t, &changed))},
		{"conflict in a batch", tok, "[" + measurementtest.JSON(t, n) + "," + measurementtest.JSON(t, &changed) + "]", 200,
			[]api.ItemResult{{Index: 0, ID: n.ID, Status: "accepted"}, {Index: 1, ID: m.ID, Status: "conflict", Error: conflict(1, measurementtest.JSON(t, &changed))}}, ""},
		{"two conflicts", tok, "[" + measurementtest.JSON(t, &changed) + "," + spaced(t, m) + "]", 409,
			[]api.ItemResult{{Index: 0, ID: m.ID, Status: "conflict", Error: conflict(0, measurementtest.JSON(t, &changed))},
				{Index: 1, ID: m.ID, Status: "conflict", Error: conflict(1, spaced(t, m))}}, conflict(0, measurementtest.JSON(t, &changed)) + " (and 1 more)"},
		{"the ID by another probe", evil, "[" + measurementtest.JSON(t, &changed) + "]", 200,
			[]api.ItemResult{{Index: 0, ID: m.ID, Status: "accepted"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(t, tc.tok, []byte(tc.body), nil)
			got := decode[api.IngestResponse](t, r)
			if r.status != tc.status || !slices.Equal(got.Items, tc.items) || got.Error != tc.errMsg {
				t.Fatalf("HTTP %d %s\nwant %d %+v %q", r.status, r.body, tc.status, tc.items, tc.errMsg)
			}
		})
	}
	if got := f.metric(t, "pantau_ingest_conflicts_total"); got != "5" {
		t.Errorf("conflicts counted %s, want 5", got)
	}
	// Nothing the probe sent after its first submission changed its measurement.
	own := f.stored(t, claims.Probe)
	if len(own) != 2 || string(own[1].Raw) != measurementtest.JSON(t, m) && string(own[0].Raw) != measurementtest.JSON(t, m) {
		t.Fatalf("probe %s stored %d measurements", claims.Probe, len(own))
	}
	for _, sm := range own {
		if sm.Measurement.ID == m.ID && (string(sm.Raw) != measurementtest.JSON(t, m) || sm.Measurement.Verdict.Status != "accessible") {
			t.Errorf("the first measurement reads %s", sm.Raw)
		}
	}
	// The other probe's is its own, under its own name, and so is the query API's answer.
	if evilOwn := f.stored(t, forger.Probe); len(evilOwn) != 1 || string(evilOwn[0].Raw) != measurementtest.JSON(t, &changed) || evilOwn[0].Probe.Network != "Evilnet" {
		t.Errorf("probe %s stored %d measurements", forger.Probe, len(evilOwn))
	}
	listed := f.query(t, "domain=a.example&"+window()).Measurements
	if len(listed) != 2 {
		t.Errorf("query API lists %d measurements of a.example, want one of each probe", len(listed))
	}
	for _, it := range listed {
		want := map[string]string{claims.Probe: "accessible", forger.Probe: "blocked"}[it.Probe.Probe]
		if it.Measurement.ID != m.ID || it.Measurement.Verdict.Status != want {
			t.Errorf("query API: %s lists %s %s", it.Probe.Probe, it.Measurement.ID, it.Measurement.Verdict.Status)
		}
	}
	if n := f.count(t, store.Reach); n != 3 {
		t.Errorf("%d reach points, want 3", n)
	}
}

func sha(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

// TestIngestRawAsSubmitted: each item is stored as the bytes the probe sent for it (white
// space, escapes and all), and the bytes that are not valid UTF-8 are refused.
func TestIngestRawAsSubmitted(t *testing.T) {
	f := newFixture(t)
	start := time.Now().Add(-time.Hour)
	a, b := measurementtest.Full("a.example", start), measurementtest.Simple("b.example", start)
	a.Verdict.Reason = "<b>blocked</b> & \"quoted\" \\ ☂"
	items := []string{spaced(t, a), strings.Replace(measurementtest.JSON(t, b), `"reason":"ok"`, `"reason":"\u006fk"`, 1)}
	body := " [\n\t" + items[0] + " ,\r\n" + items[1] + "\n]\n"
	if r := f.post(t, token(t, claims), []byte(body), nil); r.status != http.StatusOK || decode[api.IngestResponse](t, r).Accepted != 2 {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	got := f.stored(t, claims.Probe)
	raws := map[string]string{}
	for _, sm := range got {
		raws[sm.Measurement.ID] = string(sm.Raw)
	}
	if raws[a.ID] != items[0] || raws[b.ID] != items[1] {
		t.Errorf("stored\n%q\n%q\nwant\n%q\n%q", raws[a.ID], raws[b.ID], items[0], items[1])
	}
	bad := strings.Replace(measurementtest.JSON(t, measurementtest.Simple("c.example", start)), `"reason":"ok"`, "\"reason\":\"o\xffk\"", 1)
	r := f.post(t, token(t, claims), []byte("["+bad+"]"), nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"error":"measurements[0]: not valid UTF-8: a stored measurement must read back as submitted"`) {
		t.Errorf("invalid UTF-8: HTTP %d %s", r.status, r.body)
	}
}

// TestIngestBackdated: a token issued now cannot store measurements that started more
// than the slack before it was issued: each is refused naming started_at and the limit,
// and counted; the 2017 block order's compliance, computed from what is stored, does not
// change.
func TestIngestBackdated(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.BackdateSlack = 24 * time.Hour })
	st := f.storeOf(t)
	order := "kominfo-2017-telegram-block"
	var seed orders.Order
	for _, o := range orders.Seeds() {
		if o.ID == order {
			seed = o
		}
	}
	// Indosat never blocked: one probe measured every name accessible every hour.
	isat := store.Identity{Probe: "isat-1", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761}
	from, at := time.Date(2017, 7, 6, 0, 0, 0, 0, time.UTC), time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC)
	var items []store.Item
	for t0 := from; t0.Before(at); t0 = t0.Add(time.Hour) {
		for _, d := range seed.Domains {
			m := measurementtest.Simple(d, t0)
			items = append(items, store.Item{M: m, Probe: isat, ReceivedAt: t0.Add(time.Minute)})
		}
	}
	if err := st.Write(ctx(t), items); err != nil {
		t.Fatal(err)
	}
	svc, err := report.New(report.Config{Source: st, Cache: report.CacheConfig{MaxItems: -1}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	compliance := func() string {
		rep, err := svc.Compliance(ctx(t), order, at)
		if err != nil {
			t.Fatal(err)
		}
		return measurementtest.JSON(t, rep)
	}
	before := compliance()
	if !strings.Contains(before, `"status":"non-compliant"`) {
		t.Fatalf("the fixture: %s", before)
	}
	// A token issued now, for two probes on Indosat, backdates blocked measurements to
	// after the order.
	tok := token(t, auth.Claims{Probe: "isat-evil", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761})
	tok2 := token(t, auth.Claims{Probe: "isat-evil-2", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761})
	var ms []*measurement.Measurement
	for t0 := seed.Effective.Add(time.Hour); t0.Before(at); t0 = t0.Add(time.Hour) {
		for _, d := range seed.Domains {
			m := measurementtest.Simple(d, t0.Add(time.Minute))
			m.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "backdated", Evidence: []string{}}
			ms = append(ms, m)
		}
	}
	for _, tk := range []string{tok, tok2} {
		for i := 0; i < len(ms); i += 1000 {
			r := f.post(t, tk, batch(t, ms[i:min(i+1000, len(ms))]...), nil)
			got := decode[api.IngestResponse](t, r)
			if r.status != http.StatusUnprocessableEntity || got.Accepted != 0 {
				t.Fatalf("backdated batch: HTTP %d, %d accepted", r.status, got.Accepted)
			}
		}
	}
	if after := compliance(); after != before {
		t.Errorf("compliance changed:\n%s\nwas\n%s", after, before)
	}
	// The answer names the field and the limit; a measurement within the slack is stored.
	now := time.Now()
	old, recent := measurementtest.Simple("t.me", now.Add(-25*time.Hour)), measurementtest.Simple("t.me", now.Add(-23*time.Hour))
	r := f.post(t, token(t, claims), batch(t, old, recent), nil)
	got := decode[api.IngestResponse](t, r)
	c, err := f.verifier.Verify(token(t, claims), now)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("measurements[0]: started_at: %s is before %s, when this probe's token was issued less 24h0m0s (limits.backdate_slack)",
		old.StartedAt.UTC().Format(time.RFC3339), c.IssuedAt.Add(-24*time.Hour).UTC().Format(time.RFC3339))
	if r.status != http.StatusOK || got.Items[0].Status != "rejected" || got.Items[0].Error != want || got.Items[1].Status != "accepted" {
		t.Errorf("HTTP %d %s\nwant item 0 rejected: %s", r.status, r.body, want)
	}
	if n := f.metric(t, "pantau_ingest_backdated_total"); n != fmt.Sprint(2*len(ms)+1) {
		t.Errorf("backdated counted %s, want %d", n, 2*len(ms)+1)
	}
}
