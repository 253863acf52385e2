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
	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestHTTPReusesTLSStep checks that the TLS step handshakes on the TCP step's connection
// and that the HTTP fetch's first request goes over it when it can carry it (valid
// chain, HTTP/1.1 or no ALPN): the server sees one connection and one handshake per
// target instead of three and two, and the observations keep their shape. A connection that cannot carry it, or a request that fails on it before any
// reply, leaves the fetch to a fresh connection, so a reset during the request is still
// the fetch's failure. The probe's Measure and the control helper's Observe share this.
func TestHTTPReusesTLSStep(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	page := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<title>Site</title>") }
	type server struct {
		port      int
		hs, conns *atomic.Int32 // handshakes and connections seen
	}
	// serve serves the page over HTTPS with alpn offered.
	serve := func(cert tls.Certificate, alpn ...string) server {
		var hs, conns atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: alpn,
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { hs.Add(1); return nil, nil }}
		ln := listen(t)
		srv := &http.Server{Handler: http.HandlerFunc(page), ReadHeaderTimeout: 5 * time.Second,
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}}
		go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
		t.Cleanup(func() { _ = srv.Close() })
		return server{portOf(ln), &hs, &conns}
	}
	// resetting completes handshakes and resets the connection once a request came.
	resetting := func() server {
		var n, conns atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "site.test")},
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { n.Add(1); return nil, nil }}
		return server{serveConns(t, func(c *net.TCPConn) {
			conns.Add(1)
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			if _, err := tc.Read(make([]byte, 1)); err == nil {
				reset(c)
				return
			}
		}), &n, &conns}
	}
	// idleDrop closes its first connection right after the handshake (a server dropping
	// an idle connection) and answers the request on the others.
	idleDrop := func() server {
		var n, conns atomic.Int32
		cfg := &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "site.test")},
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { n.Add(1); return nil, nil }}
		return server{serveConns(t, func(c *net.TCPConn) {
			conns.Add(1)
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil || n.Load() == 1 {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(tc)); err == nil {
				_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 19\r\nConnection: close\r\n\r\n<title>Site</title>")
			}
		}), &n, &conns}
	}
	valid := ca.Valid(t, "site.test")
	tests := []struct {
		name        string
		srv         server
		handshakes  int32
		conns       int32
		alpn        string
		tlsFailure  string
		httpFailure string
		status      int
	}{
		{"no ALPN: reused", serve(valid), 1, 1, "", "", "", 200},
		{"http/1.1: reused", serve(valid, "http/1.1"), 1, 1, "http/1.1", "", "", 200},
		{"h2: fresh connection", serve(valid, "h2", "http/1.1"), 2, 2, "h2", "", "", 200},
		{"invalid name: fresh connection", serve(ca.Valid(t, "other.test")), 2, 2, "", failure.SSLInvalidHostname, failure.SSLInvalidHostname, 0},
		{"reset on request: http failure", resetting(), 2, 2, "", "", failure.ConnectionReset, 0},
		{"dropped while idle: fresh connection", idleDrop(), 2, 2, "", "", "", 200},
	}
	for _, tt := range tests {
		for _, mode := range []string{"measure", "observe"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				eng := New(Config{SystemResolvers: []dnsquery.Resolver{zone(t, map[string]string{"site.test": "127.0.0.1"})}, LabCIDRs: lab, RootCAs: ca.Pool,
					Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second}}, nil)
				tg, err := target.Parse("https://site.test:" + itoa(tt.srv.port) + "/")
				if err != nil {
					t.Fatal(err)
				}
				tt.srv.hs.Store(0)
				tt.srv.conns.Store(0)
				var obs measurement.Observations
				if mode == "measure" {
					obs = eng.Measure(context.Background(), tg, nil).Observations
				} else {
					obs = eng.Observe(context.Background(), tg, nil)
				}
				if hs, conns := tt.srv.hs.Load(), tt.srv.conns.Load(); hs != tt.handshakes || conns != tt.conns {
					t.Errorf("server saw %d handshakes on %d connections, want %d on %d", hs, conns, tt.handshakes, tt.conns)
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
