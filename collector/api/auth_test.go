package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// alter changes the probe in a token's payload and keeps its signature.
func alter(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	js, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["probe"] = "someone-else-01"
	js, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(js)
	return strings.Join(parts, ".")
}

func TestAuthFailures(t *testing.T) {
	f := newFixture(t)
	m := measurementtest.Simple("a.example", time.Now().Add(-time.Hour))
	good := token(t, claims)
	other, err := auth.Issue([]byte("another-secret-0123456789abcdef-0123"), claims)
	if err != nil {
		t.Fatal(err)
	}
	expired := claims
	expired.IssuedAt, expired.ExpiresAt = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	revoked := claims
	revoked.Probe = "sby-revoked-01"
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"missing", "", "missing token"},
		{"other scheme", "Basic dXNlcjpwYXNz", `malformed token: want "Authorization: Bearer TOKEN"`},
		{"not a token", "Bearer not-a-token", `malformed token: want prefix "pt1."`},
		{"forged with another secret", "Bearer " + other, "bad token signature"},
		{"altered payload", "Bearer " + alter(t, good), "bad token signature"},
		{"expired", "Bearer " + token(t, expired), "token expired at " + expired.ExpiresAt.UTC().Format(time.RFC3339)},
		{"revoked", "Bearer " + token(t, revoked), `token revoked: probe "sby-revoked-01"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			r := do(t, http.MethodPost, f.url+"/api/v1/measurements", batch(t, m), hdr)
			if r.status != http.StatusUnauthorized || r.errorText(t) != tc.want {
				t.Errorf("HTTP %d %q, want 401 %q", r.status, r.errorText(t), tc.want)
			}
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="pantau"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
	if n := f.count(t, store.Reach); n != 0 {
		t.Errorf("%d measurements stored without a valid token", n)
	}
	if got := f.metric(t, "pantau_auth_failures_total"); got != "7" {
		t.Errorf("auth failures counted %s, want 7", got)
	}
	f.submit(t, good, m) // and the good token works
}

func TestRateLimit(t *testing.T) {
	now := time.Now()
	f := newFixture(t, func(o *api.Options) {
		o.Limiter = ratelimit.New(0.001, 2, 0) // a burst of 2, then one per 1000 s
		o.Now = func() time.Time { return now }
	})
	m := measurementtest.Simple("a.example", now.Add(-time.Hour))
	tok := token(t, claims)
	f.submit(t, tok, m)
	f.submit(t, tok, m)
	r := f.post(t, tok, batch(t, m), nil)
	if r.status != http.StatusTooManyRequests || r.errorText(t) != "rate limit exceeded for probe jkt-telkomsel-01" {
		t.Errorf("HTTP %d %s, want 429", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1000" {
		t.Errorf("Retry-After %q, want 1000", got)
	}
	// The limit is per probe.
	c := claims
	c.Probe = "jkt-telkomsel-02"
	f.submit(t, token(t, c), m)
	if got := f.metric(t, "pantau_rate_limited_total"); got != "1" {
		t.Errorf("rate limited counted %s, want 1", got)
	}
}

// TestControlRequiresToken mounts the real control handler (a real engine that may
// measure loopback) and asks it about a local web server.
func TestControlRequiresToken(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<title>Local site</title>")
	}))
	t.Cleanup(web.Close)
	lab := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	guard := control.Guard(lab)
	eng := engine.New(engine.Config{LabCIDRs: lab, DialGuard: guard,
		Timeouts: engine.Timeouts{DNS: 5 * time.Second, TCP: 10 * time.Second, TLS: 10 * time.Second, HTTP: 15 * time.Second, Target: 30 * time.Second}}, quiet())
	h := control.NewHandler(eng, control.HandlerOptions{Guard: guard}, quiet())
	f := newFixture(t, func(o *api.Options) { o.Control = h })
	body := []byte(fmt.Sprintf(`{"target":%q,"addrs":[]}`, web.URL))
	r := do(t, http.MethodPost, f.url+"/api/v1/control", body, nil)
	if r.status != http.StatusUnauthorized || r.errorText(t) != "missing token" {
		t.Errorf("without a token: HTTP %d %s", r.status, r.body)
	}
	r = do(t, http.MethodPost, f.url+"/api/v1/control", body, bearer(alter(t, token(t, claims))))
	if r.status != http.StatusUnauthorized {
		t.Errorf("with a forged token: HTTP %d %s", r.status, r.body)
	}
	r = do(t, http.MethodPost, f.url+"/api/v1/control", body, bearer(token(t, claims)))
	if r.status != http.StatusOK {
		t.Fatalf("with a token: HTTP %d %s", r.status, r.body)
	}
	var resp control.Response
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(web.Listener.Addr().String())
	if len(resp.HTTP) == 0 || resp.HTTP[0].Status != 200 || resp.HTTP[0].Title != "Local site" || len(resp.TCP) == 0 || resp.TCP[0].IP != host {
		t.Errorf("control observations %s", r.body)
	}
}
