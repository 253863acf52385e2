package control

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a test clock the limiter reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// clientFrom returns an HTTP client whose connections leave from the loopback address
// local, so a server sees requests from distinct client addresses.
func clientFrom(t *testing.T, local string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func newPost(t *testing.T, url, body string, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

// TestHandlerRateLimit floods the helper from one address: past the burst it answers
// 429 with Retry-After, while another address and an authenticated client from the same
// address still get through, and the bucket refills with time.
func TestHandlerRateLimit(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	m := &Metrics{}
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{
		Tokens: []string{goodToken}, AllowAnonymous: true, Rate: 0.5, Burst: 3, Metrics: m, Now: clk.now,
	}, nil))
	a, b := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	body := func(i int) string { return fmt.Sprintf(`{"target":"site%d.example"}`, i) }
	for i := range 3 {
		if r := do(t, a, newPost(t, url, body(i))); r.status != 200 {
			t.Fatalf("request %d within the burst: %d %q", i+1, r.status, r.err)
		}
	}
	// Bad requests count as much as good ones: the limit comes before the body is read.
	for _, req := range []string{body(3), `{"target":`, body(0)} {
		r := do(t, a, newPost(t, url, req))
		if r.status != 429 || r.err != "rate limit exceeded for this address; retry later" || r.header.Get("Retry-After") != "2" {
			t.Errorf("%s past the burst: got %d %q Retry-After %q, want 429 and Retry-After 2", req, r.status, r.err, r.header.Get("Retry-After"))
		}
	}
	if r := do(t, b, newPost(t, url, body(4))); r.status != 200 {
		t.Errorf("another address: got %d %q, want 200", r.status, r.err)
	}
	if r := do(t, a, newPost(t, url, body(5), "Authorization", "Bearer "+goodToken)); r.status != 200 {
		t.Errorf("authenticated from the limited address: got %d %q, want 200", r.status, r.err)
	}
	if r := do(t, a, newPost(t, url, body(6), "Authorization", "Bearer wrong-token-0123456789")); r.status != 401 {
		t.Errorf("a wrong token from the limited address: got %d %q, want 401", r.status, r.err)
	}
	clk.add(2 * time.Second) // one token back
	if r := do(t, a, newPost(t, url, body(7))); r.status != 200 {
		t.Errorf("after 2s: got %d %q, want 200", r.status, r.err)
	}
	if r := do(t, a, newPost(t, url, body(8))); r.status != 429 {
		t.Errorf("after 2s, the second request: got %d %q, want 429", r.status, r.err)
	}
	if got := m.RateLimited.Load(); got != 4 {
		t.Errorf("RateLimited counted %d, want 4", got)
	}
	if got := obs.count(); got != 6 {
		t.Errorf("Observe called %d times, want 6 (3 + other address + authenticated + refilled)", got)
	}
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil || !strings.Contains(sb.String(), `pantau_control_refused_total{reason="rate_limited"} 4`+"\n") ||
		!strings.Contains(sb.String(), `pantau_control_refused_total{reason="unauthorized"} 1`+"\n") {
		t.Errorf("metrics (%v):\n%s", err, sb.String())
	}
}

// TestHandlerRateLimitBehindProxy checks whose address a request counts against:
// X-Forwarded-For is believed only from a trusted proxy, and then only its own entry.
func TestHandlerRateLimitBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     [2]string // the X-Forwarded-For of two requests from 127.0.0.1
		second  int       // the status of the second request (burst 1)
	}{
		{"no proxy trusted: the peer counts", nil, [2]string{"203.0.113.1", "203.0.113.2"}, 429},
		{"trusted proxy: the clients count", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, [2]string{"203.0.113.1", "203.0.113.2"}, 200},
		{"trusted proxy: same client twice", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, [2]string{"203.0.113.1", "203.0.113.1"}, 429},
		{"spoofed left entries are the client's word", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, [2]string{"198.51.100.1, 203.0.113.1", "198.51.100.2, 203.0.113.1"}, 429},
		{"one IPv6 /64 is one client", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, [2]string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"}, 429},
		{"other IPv6 /64s are other clients", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, [2]string{"2001:db8:1:2::1", "2001:db8:1:3::1"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, NewHandler(&observer{}, HandlerOptions{Rate: 0.001, Burst: 1, TrustedProxies: tc.trusted}, nil))
			hc := clientFrom(t, "127.0.0.1")
			if r := do(t, hc, newPost(t, url, `{"target":"a.example"}`, "X-Forwarded-For", tc.xff[0])); r.status != 200 {
				t.Fatalf("first request: %d %q", r.status, r.err)
			}
			if r := do(t, hc, newPost(t, url, `{"target":"b.example"}`, "X-Forwarded-For", tc.xff[1])); r.status != tc.second {
				t.Errorf("second request: got %d %q, want %d", r.status, r.err, tc.second)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.7:5000", nil, "192.0.2.7"},
		{"192.0.2.7:5000", []string{"203.0.113.9"}, "192.0.2.7"}, // untrusted peer: header ignored
		{"10.1.2.3:5000", nil, "10.1.2.3"},                       // trusted peer, no header: the proxy itself
		{"10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"203.0.113.9, 10.9.9.9"}, "203.0.113.9"}, // a chain of trusted proxies
		{"10.1.2.3:5000", []string{"203.0.113.9", "10.9.9.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"10.1.2.3:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"10.1.2.3:5000", []string{"203.0.113.9, not-an-ip"}, "10.1.2.3"}, // broken chain: the proxy
		{"10.1.2.3:5000", []string{""}, "10.1.2.3"},
		{"10.1.2.3:5000", []string{"10.9.9.9"}, "10.1.2.3"}, // all trusted: the peer
		{"[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"[::ffff:10.1.2.3]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"garbage", nil, "invalid IP"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddr(r, trusted).String(); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestHandlerKeepsRoomForTokens fills the queue with anonymous requests: they get at most
// half of it, so an authenticated client still starts an observation.
func TestHandlerKeepsRoomForTokens(t *testing.T) {
	obs := &observer{block: make(chan struct{})}
	defer close(obs.block)
	h := NewHandler(obs, HandlerOptions{Tokens: []string{goodToken}, AllowAnonymous: true, MaxConcurrent: 1, MaxQueue: 3}, nil).(*handler)
	url := serve(t, h)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // before wg.Wait: the requests end with it
	start := func(target string, auth ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := newPost(t, url, `{"target":"`+target+`"}`, auth...).WithContext(ctx)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	start("a1.example")
	start("a2.example")
	waitFor(t, "two anonymous observations", func() bool { return h.pendingCount() == 2 })
	if r := postAs(t, url, `{"target":"a3.example"}`); r.status != 503 || r.header.Get("Retry-After") != "1" {
		t.Errorf("third anonymous observation: got %d %q, want 503", r.status, r.err)
	}
	start("t1.example", "Authorization", "Bearer "+goodToken)
	waitFor(t, "the authenticated observation", func() bool { return h.pendingCount() == 3 })
	cancel()
}
