package api_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestPagination pages through measurements, several started in the same millisecond,
// with the cursor: every one comes exactly once, newest first.
func TestPagination(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.QueryLimit = 50 })
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var ms []*measurement.Measurement
	for i := range 25 {
		ms = append(ms, measurementtest.Simple("t.me", start.Add(time.Duration(i/3)*time.Millisecond)))
	}
	f.submit(t, token(t, claims), ms...)
	want := map[string]bool{}
	for _, m := range ms {
		want[m.ID] = true
	}
	for _, limit := range []int{1, 7, 25, 50} {
		got := f.all(t, "domain=t.me&"+window(), limit)
		seen := map[string]bool{}
		for i, it := range got {
			id := it.Measurement.ID
			if seen[id] || !want[id] {
				t.Fatalf("limit %d: %s returned twice or not submitted", limit, id)
			}
			seen[id] = true
			if i > 0 && got[i-1].Measurement.StartedAt.Before(it.Measurement.StartedAt) {
				t.Errorf("limit %d: not newest first at %d", limit, i)
			}
		}
		if len(seen) != len(ms) {
			t.Errorf("limit %d: %d of %d measurements", limit, len(seen), len(ms))
		}
	}
	// The default page is 100 (capped by QueryLimit 50 here): one page of 25.
	if p := f.query(t, "domain=t.me&"+window()); len(p.Measurements) != 25 || p.Next != "" {
		t.Errorf("default page: %d measurements, next %q", len(p.Measurements), p.Next)
	}
	if p := f.query(t, "domain=t.me&limit=24&"+window()); len(p.Measurements) != 24 || p.Next == "" {
		t.Errorf("limit 24: %d measurements, next %q", len(p.Measurements), p.Next)
	}
}

func TestCSV(t *testing.T) {
	f := newFixture(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	a, b := measurementtest.Full("t.me", start), measurementtest.Simple("t.me", start.Add(time.Second))
	f.submit(t, token(t, claims), a, b)
	r := do(t, http.MethodGet, f.url+"/api/v1/measurements?format=csv&limit=1&domain=t.me&"+window(), nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/csv; charset=utf-8" || r.header.Get("X-Next-Cursor") == "" {
		t.Fatalf("HTTP %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "id,started_at,probe,network,asn,country,source_asn,domain,target,kind,status,method,reason,evidence,received_at,source"
	if len(rows) != 2 || strings.Join(rows[0], ",") != header {
		t.Fatalf("rows %q", rows)
	}
	if got := rows[1][:13]; !slices.Equal(got, []string{b.ID, b.StartedAt.Format(time.RFC3339Nano), claims.Probe, claims.Network,
		"23693", "ID", "0", "t.me", "https://t.me/", "web", "accessible", "", "ok"}) {
		t.Errorf("row %q", got)
	}
	r = do(t, http.MethodGet, f.url+"/api/v1/measurements?format=csv&domain=t.me&cursor="+r.header.Get("X-Next-Cursor")+"&"+window(), nil, nil)
	rows, err = csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != a.ID || rows[1][12] != a.Verdict.Reason || rows[1][13] != strings.Join(a.Verdict.Evidence, "; ") ||
		r.header.Get("X-Next-Cursor") != "" {
		t.Errorf("second page %q, next %q", rows, r.header.Get("X-Next-Cursor"))
	}
}

// TestQueryRefusals: every bad parameter is answered 400 with its reason before any
// query is sent: the store's InfluxDB here is a tripwire that fails the test if asked.
func TestQueryRefusals(t *testing.T) {
	var asked atomic.Int32
	var armed atomic.Bool
	armed.Store(true)
	trip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if armed.Load() {
			t.Errorf("InfluxDB was asked %s %s", r.Method, r.URL)
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(trip.Close)
	f := fixtureOn(t, trip.URL, "pantau/autogen")
	long := strings.Repeat("a", 254)
	for _, tc := range []struct{ q, want string }{
		{`domain=x%22)%20%7C%3E%20drop()`, `domain: "x\") |> drop()" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`domain=a%22b`, `domain: "a\"b" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`domain=%5C`, `domain: "\\" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`domain=b%C3%BCcher.example`, `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{`domain=%5B2001:67c:4e8:f004::a%5D`, `domain: "[2001:67c:4e8:f004::a]": give the IPv6 address without brackets: 2001:67c:4e8:f004::a`},
		{`domain=fe80::1%25eth0`, `domain: "fe80::1%eth0": an IPv6 address with a zone is not a domain`},
		{`domain=t.me:443`, `domain: "t.me:443" is not an IP address`},
		{`network=Telkom%0Asel`, `network: "Telkom\nsel" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{`probe=a%24%7Bb%7D`, `probe: "a${b}" may hold only letters, digits, '.', '_' and '-', and one '/' after an import's source as in ooni/AS7713 (at most 253)`},
		{`probe=ooni%2F%2FAS1`, `probe: "ooni//AS1" may hold only letters, digits, '.', '_' and '-', and one '/' after an import's source as in ooni/AS7713 (at most 253)`},
		{`domain=` + long, `domain: "` + long[:64] + `…" is longer than 253 bytes`},
		{`domain=t.me&color=red&bogus=1`, `unknown parameter "bogus" (want domain, network, probe, from, to, limit, cursor or format)`},
		{`domain=a&domain=b`, `parameter "domain" given 2 times`},
		{`from=yesterday`, `from: "yesterday" is not an RFC 3339 time (e.g. 2017-07-20T00:00:00Z)`},
		{`to=2026-13-01T00:00:00Z`, `to: "2026-13-01T00:00:00Z" is not an RFC 3339 time (e.g. 2017-07-20T00:00:00Z)`},
		{`from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, `from: "2026-01-02T00:00:00Z" is not before to "2026-01-01T00:00:00Z"`},
		{`from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, `from: "2026-01-01T00:00:00Z" is not before to "2026-01-01T00:00:00Z"`},
		{`from=2300-01-01T00:00:00Z&to=2400-01-01T00:00:00Z`, `from: 2200-01-01T00:00:00Z is not before to: 2200-01-01T00:00:00Z`},
		{`limit=0`, `limit: "0" is not a number from 1 to 1000`},
		{`limit=1001`, `limit: "1001" is not a number from 1 to 1000`},
		{`limit=-1`, `limit: "-1" is not a number from 1 to 1000`},
		{`limit=1e3`, `limit: "1e3" is not a number from 1 to 1000`},
		{`format=xml`, `format: "xml" is not json or csv`},
		{`cursor=garbage`, `cursor: "garbage" is not a cursor from a previous page`},
		{`cursor=djEgMTIzIGEiYg`, `cursor: "djEgMTIzIGEiYg" is not a cursor from a previous page`}, // "v1 123 a\"b"
		{`domain=%zz`, `query string: invalid URL escape "%zz"`},
	} {
		r := do(t, http.MethodGet, f.url+"/api/v1/measurements?"+tc.q, nil, nil)
		if r.status != http.StatusBadRequest || r.errorText(t) != tc.want {
			t.Errorf("%s: HTTP %d %q\nwant 400 %q", tc.q, r.status, r.body, tc.want)
		}
	}
	if asked.Load() != 0 {
		t.Errorf("InfluxDB was asked %d times", asked.Load())
	}
	// The tripwire works: a valid query does reach it (and fails as unavailable).
	armed.Store(false)
	if r := do(t, http.MethodGet, f.url+"/api/v1/measurements?domain=t.me", nil, nil); r.status != http.StatusServiceUnavailable ||
		r.header.Get("Retry-After") == "" || asked.Load() == 0 {
		t.Errorf("valid query: HTTP %d, InfluxDB asked %d times", r.status, asked.Load())
	}
}
