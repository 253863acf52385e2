package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

func TestPublicRateLimit(t *testing.T) {
	now := time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)
	for _, trust := range []bool{false, true} {
		srv := api.New(api.Options{ReadLimiter: ratelimit.New(1, 2, 0), TrustProxy: trust, Now: func() time.Time { return now }}, nil)
		h := srv.Public(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		do := func(remote, xff string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/timeline?domain=t.me", nil)
			r.RemoteAddr = remote
			if xff != "" {
				r.Header.Set("X-Forwarded-For", xff)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		// Behind a trusted proxy every request comes from the proxy's address; the client
		// is the last forwarded entry.
		client := func(addr string) (string, string) {
			if trust {
				return "10.0.0.1:4000", "203.0.113.9, " + addr
			}
			return addr + ":4000", "198.51.100.1"
		}
		tests := []struct {
			name, addr string
			want       int
		}{
			{"first", "192.0.2.1", http.StatusNoContent},
			{"burst", "192.0.2.1", http.StatusNoContent},
			{"over the burst", "192.0.2.1", http.StatusTooManyRequests},
			{"another address", "192.0.2.2", http.StatusNoContent},
			{"IPv6", "2001:db8:1:2::1", http.StatusNoContent},
			{"same /64", "2001:db8:1:2:ffff::9", http.StatusNoContent},
			{"same /64 over the burst", "2001:db8:1:2::7", http.StatusTooManyRequests},
			{"another /64", "2001:db8:1:3::1", http.StatusNoContent},
		}
		for _, tt := range tests {
			remote, xff := client(tt.addr)
			if strings.Contains(tt.addr, ":") && !trust {
				remote = "[" + tt.addr + "]:4000"
			}
			w := do(remote, xff)
			if w.Code != tt.want {
				t.Errorf("trust_proxy %v, %s (%s): HTTP %d, want %d", trust, tt.name, tt.addr, w.Code, tt.want)
			}
			if tt.want == http.StatusTooManyRequests && (w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "rate limit exceeded")) {
				t.Errorf("%s: Retry-After %q, body %s", tt.name, w.Header().Get("Retry-After"), w.Body)
			}
		}
		now = now.Add(time.Second) // a token back for each address
		if remote, xff := client("192.0.2.1"); do(remote, xff).Code != http.StatusNoContent {
			t.Errorf("trust_proxy %v: still limited after a second", trust)
		}
		m := httptest.NewRecorder()
		srv.ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if !strings.Contains(m.Body.String(), "pantau_read_rate_limited_total 2\n") {
			t.Errorf("metrics:\n%s", m.Body)
		}
	}
}

func TestPublicUnlimited(t *testing.T) {
	srv := api.New(api.Options{}, nil)
	h := srv.Public(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for i := range 100 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != http.StatusNoContent {
			t.Fatalf("request %d: HTTP %d without a read limiter", i, w.Code)
		}
	}
}
