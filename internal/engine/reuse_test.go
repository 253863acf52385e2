package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// TestHTTPReusesTLSStep checks that the HTTP fetch's first request goes over the TLS
// step's connection when that one can carry it (valid chain, HTTP/1.1 or no ALPN): the
// server sees one handshake per target instead of two, and the observations keep their
// shape. A connection that cannot carry it, or a request that fails on it before any
// reply, leaves the fetch to a fresh connection, so a reset during the request is still
// the fetch's failure. The probe's Measure and the control helper's Observe share this.
func TestHTTPReusesTLSStep(t *testing.T) {
	ca := newCA(t, "Pantau Test CA")
	page := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<title>Site</title>") }
	// serve serves the page over HTTPS with alpn offered, counting the handshakes.
	serve := func(cert tls.Certificate, alpn ...string) (int, *atomic.Int32) {
		var n atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: alpn,
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { n.Add(1); return nil, nil }}
		return serveHTTP(t, http.HandlerFunc(page), cfg), &n
	}
	// resetting completes handshakes and resets the connection once a request came.
	resetting := func() (int, *atomic.Int32) {
		var n atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{ca.validLeaf(t, "site.test")},
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { n.Add(1); return nil, nil }}
		return serveConns(t, func(c *net.TCPConn) {
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			if _, err := tc.Read(make([]byte, 1)); err == nil {
				reset(c)
				return
			}
		}), &n
	}
	// idleDrop closes its first connection right after the handshake (a server dropping
	// an idle connection) and answers the request on the others.
	idleDrop := func() (int, *atomic.Int32) {
		var n atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{ca.validLeaf(t, "site.test")},
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { n.Add(1); return nil, nil }}
		return serveConns(t, func(c *net.TCPConn) {
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil || n.Load() == 1 {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(tc)); err == nil {
				_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 19\r\nConnection: close\r\n\r\n<title>Site</title>")
			}
		}), &n
	}
	valid := ca.validLeaf(t, "site.test")
	type server struct {
		port int
		n    *atomic.Int32
	}
	mk := func(p int, n *atomic.Int32) server { return server{p, n} }
	tests := []struct {
		name        string
		srv         server
		handshakes  int32
		alpn        string
		tlsFailure  string
		httpFailure string
		status      int
	}{
		{"no ALPN: reused", mk(serve(valid)), 1, "", "", "", 200},
		{"http/1.1: reused", mk(serve(valid, "http/1.1")), 1, "http/1.1", "", "", 200},
		{"h2: fresh connection", mk(serve(valid, "h2", "http/1.1")), 2, "h2", "", "", 200},
		{"invalid name: fresh connection", mk(serve(ca.validLeaf(t, "other.test"))), 2, "", failure.SSLInvalidHostname, failure.SSLInvalidHostname, 0},
		{"reset on request: http failure", mk(resetting()), 2, "", "", failure.ConnectionReset, 0},
		{"dropped while idle: fresh connection", mk(idleDrop()), 2, "", "", "", 200},
	}
	for _, tt := range tests {
		for _, mode := range []string{"measure", "observe"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				eng := New(Config{SystemResolvers: []dnsquery.Resolver{zone(t, map[string]string{"site.test": "127.0.0.1"})}, LabCIDRs: lab, RootCAs: ca.pool,
					Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second}}, nil)
				tg, err := target.Parse("https://site.test:" + itoa(tt.srv.port) + "/")
				if err != nil {
					t.Fatal(err)
				}
				tt.srv.n.Store(0)
				var obs measurement.Observations
				if mode == "measure" {
					obs = eng.Measure(context.Background(), tg, nil).Observations
				} else {
					obs = eng.Observe(context.Background(), tg, nil)
				}
				if got := tt.srv.n.Load(); got != tt.handshakes {
					t.Errorf("server saw %d handshakes, want %d", got, tt.handshakes)
				}
				if len(obs.TLS) != 1 || len(obs.HTTP) != 1 {
					t.Fatalf("want one handshake and one request recorded:\n%s", dump(obs))
				}
				h, r := obs.TLS[0], obs.HTTP[0]
				if deref(h.Failure) != tt.tlsFailure || h.CertValid != (tt.tlsFailure == "") || len(h.Certificates) != 1 ||
					h.Version != "TLSv1.3" || h.ALPN != tt.alpn || h.SNI != "site.test" || h.TimeMS <= 0 {
					t.Errorf("handshake recorded as %s", dump(h))
				}
				if deref(r.Failure) != tt.httpFailure || r.Status != tt.status || r.Address != "127.0.0.1:"+itoa(tt.srv.port) || r.TimeMS <= 0 ||
					(tt.status == 200) != strings.Contains(r.Title, "Site") {
					t.Errorf("request recorded as %s", dump(r))
				}
			})
		}
	}
}
