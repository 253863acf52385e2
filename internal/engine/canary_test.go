package engine

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// serveHTTPAt serves h over plain HTTP on addr (IP:PORT; port 0 picks one) and returns
// the port.
func serveHTTPAt(t *testing.T, addr string, h http.Handler) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return portOf(ln)
}

// runAll runs targets on eng and returns the measurements.
func runAll(eng *Engine, targets []target.Target) []*measurement.Measurement {
	var out []*measurement.Measurement
	eng.Run(context.Background(), targets, 2, nil, func(m *measurement.Measurement) { out = append(out, m) })
	return out
}

// TestRunCanary runs a few targets with a canary on networks that differ in what they do
// with it, and checks that every measurement of the run carries the same canary.
func TestRunCanary(t *testing.T) {
	const portal = "<html><head><title>Hotel WiFi: log in</title></head><body>Accept the terms</body></html>"
	const example = "<html><head><title>Example Domain</title></head><body>for use in examples</body></html>"
	const site = "<html><head><title>Berita</title></head><body>news</body></html>"
	// 127.0.0.1 and 127.0.0.3 stand for public addresses; 127.0.0.2 is reserved, like the
	// private address of an intercepting network's portal.
	labs := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("127.0.0.3/32")}
	port := serveHTTPAt(t, "127.0.0.1:0", page(site))
	serveHTTPAt(t, "127.0.0.2:"+itoa(port), page(portal))
	serveHTTPAt(t, "127.0.0.3:"+itoa(port), page(example))
	silent := serveConns(t, func(c *net.TCPConn) { _, _ = io.Copy(io.Discard, c) })

	tests := []struct {
		name   string
		answer answerer
		canary string
		port   int
		want   *measurement.Canary // URL and TimeMS are checked apart
		// samePage: the canary's page is the targets' page (the network serves one page for all)
		samePage bool
	}{
		{name: "intercepting network", canary: "example.org", port: port, samePage: true,
			answer: func(string) (string, bool) { return "127.0.0.2", true },
			want: &measurement.Canary{Name: "example.org", Addrs: []string{"127.0.0.2"}, Bogons: []string{"127.0.0.2"},
				Status: 200, BodySHA256: sha(portal), Title: "Hotel WiFi: log in"}},
		{name: "normal network", canary: "example.org", port: port,
			answer: func(n string) (string, bool) {
				if n == "example.org" {
					return "127.0.0.3", true
				}
				return "127.0.0.1", true
			},
			want: &measurement.Canary{Name: "example.org", Addrs: []string{"127.0.0.3"},
				Status: 200, BodySHA256: sha(example), Title: "Example Domain"}},
		{name: "canary not resolved", canary: "example.org", port: port,
			answer: func(n string) (string, bool) { return "127.0.0.1", n != "example.org" },
			want:   &measurement.Canary{Name: "example.org", Addrs: []string{}, DNSFailure: measurement.Failure("dns_nxdomain_error")}},
		{name: "canary never answers", canary: "example.org", port: silent,
			answer: func(n string) (string, bool) { return "127.0.0.1", true },
			want: &measurement.Canary{Name: "example.org", Addrs: []string{"127.0.0.1"},
				Failure: measurement.Failure("generic_timeout_error")}},
		{name: "no canary", answer: func(string) (string, bool) { return "127.0.0.1", true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDNSServer(t, tc.answer)
			eng := New(Config{SystemResolvers: []dnsquery.Resolver{srv.resolver}, LabCIDRs: labs, Canary: tc.canary,
				Timeouts: Timeouts{DNS: time.Second, TCP: time.Second, HTTP: time.Second}}, nil)
			eng.canaryPort = tc.port
			var targets []target.Target
			for _, s := range []string{"web.test", "news.test", "chat.test", "127.0.0.1"} {
				tg, err := target.Parse("http://" + s + ":" + itoa(port) + "/")
				if err != nil {
					t.Fatal(err)
				}
				targets = append(targets, tg)
			}
			start := time.Now()
			ms := runAll(eng, targets)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("run took %s: the canary held it up beyond its own deadline", d)
			}
			if len(ms) != len(targets) {
				t.Fatalf("%d measurements, want %d", len(ms), len(targets))
			}
			for _, m := range ms {
				checkCanary(t, m, tc.want, tc.port, tc.samePage)
			}
			// Once per run: one A and one AAAA question for the canary, however many targets.
			want := 0
			if tc.canary != "" {
				want = 2
			}
			if asked := srv.count("example.org."); asked != want {
				t.Errorf("canary asked %d times, want %d", asked, want)
			}
		})
	}
}

// checkCanary compares m's canary with want (nil: none), its URL with http://NAME:port/
// when it was fetched, and its page with the target's when samePage.
func checkCanary(t *testing.T, m *measurement.Measurement, want *measurement.Canary, port int, samePage bool) {
	t.Helper()
	if err := m.Validate(time.Now()); err != nil {
		t.Errorf("%s: does not validate: %v", m.Target, err)
	}
	got := m.Canary
	if want == nil || got == nil {
		if want != got {
			t.Errorf("%s: canary %s, want %s", m.Target, dump(got), dump(want))
		}
		return
	}
	if got.TimeMS <= 0 {
		t.Errorf("%s: canary time_ms %v, want it recorded", m.Target, got.TimeMS)
	}
	wantURL := ""
	if len(want.Addrs) > 0 {
		wantURL = "http://" + want.Name + ":" + itoa(port) + "/"
	}
	c := *got
	c.TimeMS = 0
	w := *want
	w.URL = wantURL
	if dump(c) != dump(w) {
		t.Errorf("%s: canary\n%s\nwant\n%s", m.Target, dump(c), dump(w))
	}
	if len(m.HTTP) == 0 {
		t.Fatalf("%s: not fetched:\n%s", m.Target, dump(m))
	}
	// The network answers names; an IP-literal target is not intercepted.
	if same := m.HTTP[len(m.HTTP)-1].BodySHA256 == got.BodySHA256; same != (samePage && !strings.HasPrefix(m.Domain, "127.")) {
		t.Errorf("%s: target page %s, canary page %s: same %v, want %v", m.Target, m.HTTP[len(m.HTTP)-1].BodySHA256, got.BodySHA256, same, samePage)
	}
}

// TestRunCanaryOnce checks that a canary belongs to its run: two runs on one engine ask
// for it twice, and a network that changes between them shows in each run's canary.
func TestRunCanaryOnce(t *testing.T) {
	var mu sync.Mutex
	addr := "127.0.0.1"
	srv := newDNSServer(t, func(string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		return addr, true
	})
	port := serveHTTPAt(t, "127.0.0.1:0", page("<title>ok</title>"))
	eng := New(Config{SystemResolvers: []dnsquery.Resolver{srv.resolver}, LabCIDRs: lab, Canary: "example.org",
		Timeouts: Timeouts{DNS: time.Second, TCP: time.Second, HTTP: time.Second}}, nil)
	eng.canaryPort = port
	tg, err := target.Parse("http://web.test:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	first := runAll(eng, []target.Target{tg, tg})
	mu.Lock()
	addr = "127.0.0.9" // nothing listens there
	mu.Unlock()
	second := runAll(eng, []target.Target{tg})
	for _, m := range first {
		if m.Canary == nil || m.Canary.Status != 200 || !slices.Equal(m.Canary.Addrs, []string{"127.0.0.1"}) {
			t.Errorf("first run: canary %s, want 127.0.0.1 fetched", dump(m.Canary))
		}
	}
	if c := second[0].Canary; c == nil || c.Failure == nil || !slices.Equal(c.Addrs, []string{"127.0.0.9"}) {
		t.Errorf("second run: canary %s, want 127.0.0.9 and a failed fetch", dump(c))
	}
	if asked := srv.count("example.org."); asked != 4 {
		t.Errorf("canary asked %d times (A and AAAA per run), want 4", asked)
	}
}
