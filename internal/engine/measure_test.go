package engine

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testdns"
	"github.com/pantau-dev/pantau/internal/testpki"
)

var lab = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// zone answers A questions from a name → address map; unknown names get NXDOMAIN.
func zone(t *testing.T, names map[string]string) dnsquery.Resolver {
	t.Helper()
	r, err := dnsquery.ParseResolver(testdns.Start(t, testdns.Names(names)))
	if err != nil {
		t.Fatal(err)
	}
	r.System = true
	return r
}

// serveHTTPSOn serves h over HTTPS on ip (a loopback address) and returns the port.
func serveHTTPSOn(t *testing.T, ip string, h http.Handler, cert tls.Certificate) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})) }()
	t.Cleanup(func() { _ = srv.Close() })
	return portOf(ln)
}

// helperFor runs a real control helper (handler over HTTP) whose engine resolves with
// names, and returns a client for it.
func helperFor(t *testing.T, names map[string]string, ca *testpki.CA) *control.Client {
	t.Helper()
	guard := control.Guard(lab)
	eng := New(Config{SystemResolvers: []dnsquery.Resolver{zone(t, names)}, LabCIDRs: lab, RootCAs: ca.Pool, DialGuard: guard,
		Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second}}, nil)
	srv := httptest.NewServer(control.NewHandler(eng, control.HandlerOptions{Guard: guard}, nil))
	t.Cleanup(srv.Close)
	c, err := control.NewClient([]string{srv.URL + "/api/v1/control"}, nil, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMeasure(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau test CA")
	site := page("<html><head><title>Telegram Web</title></head><body>" + strings.Repeat("real content ", 200) + "</body></html>")
	block := page("<html><head><title>Internet Positif</title></head><body>Situs ini diblokir. aduankonten@kominfo.go.id</body></html>")
	port := serveHTTPSOn(t, "127.0.0.1", site, ca.Valid(t, "web.test", "nx.test"))
	// The block page listens on another loopback address, on the same port number.
	blockLn, err := net.Listen("tcp", "127.0.0.2:"+itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	blockSrv := &http.Server{Handler: block, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		_ = blockSrv.Serve(tls.NewListener(blockLn, &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "blockpage.test")}}))
	}()
	t.Cleanup(func() { _ = blockSrv.Close() })

	honest := map[string]string{"web.test": "127.0.0.1", "blocked.test": "127.0.0.1"}
	censored := map[string]string{"web.test": "127.0.0.1", "blocked.test": "127.0.0.2"}
	fps, err := fingerprint.Load(strings.NewReader("name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes\n"+
		"lab.dns,isp,,dns,full,127.0.0.2,5,ID,test,,lab block page\n"), "lab.csv")
	if err != nil {
		t.Fatal(err)
	}
	eng := New(Config{
		SystemResolvers: []dnsquery.Resolver{zone(t, censored)}, LabCIDRs: lab, RootCAs: ca.Pool, LateWait: 50 * time.Millisecond,
		Fingerprints: fingerprint.NewSet(fps), Software: measurement.Software{Name: "pantau-probe", Version: "test"},
		ASN:      func(a netip.Addr) uint32 { return 64500 + uint32(a.As4()[3]) },
		Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second},
	}, nil)
	ctrl := helperFor(t, honest, ca)

	tests := []struct {
		target         string
		status, method string
	}{
		{"https://web.test:" + itoa(port) + "/", measurement.StatusAccessible, ""},
		{"https://blocked.test:" + itoa(port) + "/", measurement.StatusBlocked, measurement.MethodDNS},
		{"https://nx.test:" + itoa(port) + "/", measurement.StatusDown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			tg, err := target.Parse(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			m := eng.Measure(context.Background(), tg, ctrl)
			if m.Verdict.Status != tc.status || m.Verdict.Method != tc.method {
				t.Fatalf("verdict = %+v, want %s/%s\n%s", m.Verdict, tc.status, tc.method, dump(m))
			}
			if err := m.Validate(time.Now()); err != nil {
				t.Errorf("measurement does not validate: %v", err)
			}
			for _, h := range m.TLS {
				if h.TimeMS <= 0 {
					t.Errorf("tls time_ms = %v, want it recorded", h.TimeMS)
				}
			}
			for _, h := range m.HTTP {
				if h.TimeMS <= 0 {
					t.Errorf("http time_ms = %v, want it recorded", h.TimeMS)
				}
			}
			for _, qs := range [][]measurement.DNSQuery{m.DNS, m.Control.DNS} {
				for _, q := range qs {
					for _, a := range q.Answers {
						if want := 64500 + uint32(netip.MustParseAddr(a.Data).As4()[3]); a.ASN != want {
							t.Errorf("answer %s of %s: ASN %d, want %d", a.Data, q.Resolver, a.ASN, want)
						}
					}
				}
			}
			if len(m.DNS) != 2 || m.Control == nil || m.Control.Helper == "" || len(m.Control.DNS) == 0 {
				t.Errorf("want 2 DNS questions and a control answer:\n%s", dump(m))
			}
			// The wire format lists every key, with [] rather than null.
			b, _ := json.Marshal(m)
			for _, key := range []string{`"dns":[`, `"tcp":[`, `"tls":[`, `"http":[`, `"fingerprints":[`, `"resolvers":[`, `"control":{`, `"verdict":{`} {
				if !strings.Contains(string(b), key) {
					t.Errorf("JSON lacks %s: %s", key, b)
				}
			}
		})
	}
}

// TestRunBoundsConcurrency checks that blackholed targets are measured side by side, not
// one after another: with concurrency 4, a server that never answers sees 4 connections
// open at once.
func TestRunBoundsConcurrency(t *testing.T) {
	var open, peak atomic.Int64
	release := make(chan struct{})
	port := serveConns(t, func(c *net.TCPConn) {
		n := open.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		open.Add(-1)
	})
	var once sync.Once
	eng := New(Config{LabCIDRs: lab, Timeouts: Timeouts{TCP: time.Second, TLS: 3 * time.Second, HTTP: 3 * time.Second}}, nil)
	// Web targets hold the connection open through the TLS handshake the server never answers.
	tg, err := target.Parse("https://127.0.0.1:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	targets := []target.Target{tg, tg, tg, tg}
	done := make(chan struct{})
	var got []*measurement.Measurement
	go func() {
		defer close(done)
		eng.Run(context.Background(), targets, 4, nil, func(m *measurement.Measurement) {
			once.Do(func() { close(release) })
			got = append(got, m)
		})
	}()
	deadline := time.After(10 * time.Second)
	for peak.Load() < 4 {
		select {
		case <-deadline:
			close(release)
			t.Fatalf("peak of %d concurrent connections, want 4", peak.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	once.Do(func() { close(release) })
	<-done
	if len(got) != 4 {
		t.Fatalf("%d measurements, want 4", len(got))
	}
	for _, m := range got {
		if len(m.TLS) == 0 || m.TLS[0].Failure == nil {
			t.Errorf("want a failed handshake against the silent server: %s", dump(m))
		}
	}
}
