package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

const adminToken = "fleet-test-admin-token-0123456789"

// clock is a settable time for the server.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }

// fleetFixture serves the API with the probe list and enrolment on a store of the bucket.
func fleetFixture(t *testing.T, influx, bucket string, clk *clock, cfg fleet.Config, opts ...func(*api.Options)) (*fixture, *store.Store) {
	t.Helper()
	st, err := store.New(store.Config{URL: influx, Bucket: bucket, Timeout: 20 * time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	fl, err := fleet.New(cfg, st, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]func(*api.Options){func(o *api.Options) {
		o.Now, o.Fleet, o.AdminToken = clk.now, fl, adminToken
		o.Enrol = &api.Enrol{Secret: secret, Store: st}
	}}, opts...)
	return fixtureOn(t, influx, bucket, all...), st
}

func TestProbesList(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	clk := newClock(now)
	f, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{})
	beatAt := func(c auth.Claims, ago time.Duration, version string, busy int64) {
		t.Helper()
		clk.set(now.Add(-ago))
		hb := heartbeat(now.Add(-ago))
		hb.Software.Version, hb.ControlBusy, hb.ControlFailed, hb.SyncError = version, busy, busy, ""
		r := do(t, http.MethodPost, f.url+"/api/v1/heartbeats", []byte(measurementtest.JSON(t, hb)), bearer(token(t, c)))
		if r.status != http.StatusOK {
			t.Fatalf("heartbeat: HTTP %d %s", r.status, r.body)
		}
	}
	xl := auth.Claims{Probe: "sby-xl-01", Network: "XL Axiata", Country: "ID", ASN: 24203}
	old := auth.Claims{Probe: "jkt-telkomsel-02", Network: "Telkomsel", Country: "ID", ASN: 7713}
	beatAt(xl, 2*time.Hour, "v1.4.0", 0)
	beatAt(claims, 30*time.Minute, "v1.4.0", 0) // an older heartbeat of the same probe
	beatAt(claims, 2*time.Minute, "v1.4.0", 5)
	beatAt(old, time.Minute, "v1.3.0", 0)
	clk.set(now)

	get := func(query string, hdr map[string]string) reply {
		return do(t, http.MethodGet, f.url+"/api/v1/probes"+query, nil, hdr)
	}
	admin := bearer(adminToken)
	r := get("", admin)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	l := decode[fleet.List](t, r)
	if len(l.Probes) != 3 || l.LatestVersion != "v1.4.0" {
		t.Fatalf("list %s", r.body)
	}
	// Sorted by state, worst first.
	want := []struct{ probe, state string }{{"sby-xl-01", "silent"}, {"jkt-telkomsel-02", "outdated"}, {"jkt-telkomsel-01", "ok"}}
	for i, w := range want {
		if p := l.Probes[i]; p.Probe != w.probe || p.State != w.state {
			t.Errorf("probes[%d] = %s %s, want %s %s", i, p.Probe, p.State, w.probe, w.state)
		}
	}
	p := l.Probes[2]
	if !p.LastHeartbeat.Equal(now.Add(-2*time.Minute)) || p.Network != "Telkomsel" || p.ASN != 23693 || p.Version != "v1.4.0" ||
		p.SchedulesHash != "abc" || p.SpoolDepth != 3 || p.Dropped != 1 || p.ClockOffsetMS != -12.5 || p.ControlBusy != 5 || p.ControlFailed != 5 {
		t.Errorf("probe %+v", p)
	}
	if p := l.Probes[1]; p.ControlBusy != 0 || p.Country != "ID" || p.ASN != 7713 {
		t.Errorf("probe without control counts: %+v", p)
	}
	r = get("?network=XL+Axiata", admin)
	if l := decode[fleet.List](t, r); len(l.Probes) != 1 || l.Probes[0].Probe != "sby-xl-01" {
		t.Errorf("network filter: %s", r.body)
	}
	r = get("?sort=probe&order=desc&state=", admin)
	if l := decode[fleet.List](t, r); len(l.Probes) != 3 || l.Probes[0].Probe != "sby-xl-01" || l.Probes[2].Probe != "jkt-telkomsel-01" {
		t.Errorf("sort: %s", r.body)
	}
}

func TestProbesListAccess(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	clk := newClock(time.Now())
	private, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{})
	public, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{Public: true})
	for _, tc := range []struct {
		name   string
		url    string
		method string
		hdr    map[string]string
		status int
		want   string
	}{
		{"no token", private.url + "/api/v1/probes", "GET", nil, 401, "needs the admin token"},
		{"a probe's token", private.url + "/api/v1/probes", "GET", bearer(token(t, claims)), 401, "needs the admin token"},
		{"wrong admin token", private.url + "/api/v1/probes", "GET", bearer(adminToken + "x"), 401, "needs the admin token"},
		{"bad sort", private.url + "/api/v1/probes?sort=token", "GET", bearer(adminToken), 400, `sort "token"`},
		{"bad state", private.url + "/api/v1/probes?state=gone", "GET", bearer(adminToken), 400, `state "gone"`},
		{"bad query string", private.url + "/api/v1/probes?%zz", "GET", bearer(adminToken), 400, "invalid URL escape"},
		{"POST", private.url + "/api/v1/probes", "POST", bearer(adminToken), 405, ""},
		{"public, no token", public.url + "/api/v1/probes", "GET", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, tc.url, nil, tc.hdr)
			if r.status != tc.status || tc.want != "" && !strings.Contains(r.errorText(t), tc.want) {
				t.Fatalf("HTTP %d %s, want %d %q", r.status, r.body, tc.status, tc.want)
			}
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

// enrolBody is a request for the test claims with code.
func enrolBody(code string, c auth.Claims) []byte {
	return []byte(`{"code":"` + code + `","probe":"` + c.Probe + `","network":"` + c.Network + `","country":"` + c.Country +
		`","asn":` + strconv.FormatUint(uint64(c.ASN), 10) + `}`)
}

func TestEnrol(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	now := time.Now()
	clk := newClock(now)
	f, st := fleetFixture(t, influx, bucket, clk, fleet.Config{})
	code, e, err := auth.IssueCode(secret, claims, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, http.MethodPost, f.url+"/api/v1/enrol", enrolBody(code, claims), nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	rep := decode[api.EnrolReply](t, r)
	got, err := f.verifier.Verify(rep.Token, now)
	if err != nil || got.Probe != claims.Probe || got.Network != claims.Network || got.ASN != claims.ASN || got.Country != claims.Country ||
		got.ID != e.TokenID() || rep.TokenID != e.TokenID() || !got.ExpiresAt.IsZero() {
		t.Fatalf("token claims %+v (%v), reply %+v", got, err, rep)
	}
	// The token works: a heartbeat is accepted.
	hb := do(t, http.MethodPost, f.url+"/api/v1/heartbeats", []byte(measurementtest.JSON(t, heartbeat(now))), bearer(rep.Token))
	if hb.status != http.StatusOK {
		t.Fatalf("heartbeat with the enrolled token: HTTP %d %s", hb.status, hb.body)
	}
	// Used once: refused again, also by another server on the same storage (a restart).
	again, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{})
	for _, u := range []string{f.url, again.url} {
		r := do(t, http.MethodPost, u+"/api/v1/enrol", enrolBody(code, claims), nil)
		if r.status != http.StatusConflict || !strings.Contains(r.errorText(t), "already used") {
			t.Fatalf("replayed code: HTTP %d %s", r.status, r.body)
		}
	}
	recs, err := st.Tokens(context.Background())
	if err != nil || len(recs) != 1 || recs[0].ID != e.TokenID() || recs[0].Via != "enrol" || recs[0].Probe.Network != claims.Network {
		t.Fatalf("recorded tokens %+v, %v", recs, err)
	}
}

func TestEnrolHostile(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	now := time.Now()
	clk := newClock(now)
	f, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{})
	code := func(c auth.Claims, ttl time.Duration) string {
		s, _, err := auth.IssueCode(secret, c, now.Add(-2*ttl), now.Add(-ttl)) // expired ttl ago when ttl > 0
		if ttl < 0 {
			s, _, err = auth.IssueCode(secret, c, now, now.Add(-ttl))
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := code(claims, -time.Hour)
	other := claims
	other.ASN = 1
	revoked := auth.Claims{Probe: "sby-revoked-01", Network: "Lab", Country: "ID", ASN: 64512} // the fixture revokes this probe
	otherSecret, _, _ := auth.IssueCode([]byte("another-secret-0123456789abcdef-01234"), claims, now, now.Add(time.Hour))
	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		status int
		want   string
	}{
		{"bad code", "POST", enrolBody("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", claims), 403, "invalid enrolment code"},
		{"garbage code", "POST", enrolBody("1234", claims), 403, "invalid enrolment code"},
		{"another secret's code", "POST", enrolBody(otherSecret, claims), 403, "not issued for probe"},
		{"claims changed", "POST", enrolBody(valid, other), 403, "not issued for probe"},
		{"expired", "POST", enrolBody(code(claims, time.Minute), claims), 410, "expired"},
		{"revoked probe", "POST", enrolBody(code(revoked, -time.Hour), revoked), 403, "revoked"},
		{"oversized body", "POST", []byte(`{"code":"` + strings.Repeat("A", 5000) + `"}`), 413, "over 4096 bytes"},
		{"unknown field", "POST", []byte(`{"code":"x","token":"y"}`), 400, "unknown field"},
		{"trailing data", "POST", append(enrolBody(valid, claims), []byte(`{}`)...), 400, "data after"},
		{"no code", "POST", []byte(`{"probe":"a"}`), 400, "code: required"},
		{"not JSON", "POST", []byte(`code=x`), 400, "body"},
		{"GET", "GET", nil, 405, ""},
		{"PUT", "PUT", enrolBody(valid, claims), 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, f.url+"/api/v1/enrol", tc.body, nil)
			if r.status != tc.status || tc.want != "" && !strings.Contains(r.errorText(t), tc.want) {
				t.Fatalf("HTTP %d %s, want %d %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
	// None of those used the valid code.
	if r := do(t, "POST", f.url+"/api/v1/enrol", enrolBody(valid, claims), nil); r.status != http.StatusOK {
		t.Fatalf("valid code after the refusals: HTTP %d %s", r.status, r.body)
	}
	// Rate limited per address like the other public endpoints.
	limited, _ := fleetFixture(t, influx, bucket, clk, fleet.Config{}, func(o *api.Options) { o.ReadLimiter = ratelimit.New(0.001, 2, 0) })
	var last reply
	for range 3 {
		last = do(t, "POST", limited.url+"/api/v1/enrol", enrolBody("AAAA", claims), nil)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("third request: HTTP %d %s", last.status, last.body)
	}
}
