package engine

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestFetchLogsHops redirects to real servers that fail at each step and checks the
// connects and handshakes recorded for the redirect hop (none for the first hop, whose
// connects are the TCP step's).
func TestFetchLogsHops(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	// swallow accepts and reads whatever comes (a ClientHello, a request) without answering.
	swallow := serveConns(t, func(c *net.TCPConn) { _, _ = io.Copy(io.Discard, c) })
	good := serveHTTP(t, page("<title>ok</title>"), &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "hop.example")}})
	closed := freePort(t)
	tests := []struct {
		name       string
		loc        string
		tcpFailure string // of the hop's connect
		tls        bool   // a handshake is recorded
		tlsFailure string
		hopFailure string
	}{
		{"connect refused", fmt.Sprintf("https://hop.example:%d/", closed), failure.ConnectionRefused, false, "", failure.ConnectionRefused},
		{"ClientHello dropped", fmt.Sprintf("https://hop.example:%d/", swallow), "", true, failure.GenericTimeout, failure.GenericTimeout},
		{"request dropped (plain HTTP)", fmt.Sprintf("http://hop.example:%d/", swallow), "", false, "", failure.GenericTimeout},
		{"the hop answers", fmt.Sprintf("https://hop.example:%d/", good), "", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				redirectTo(w, tt.loc, http.StatusFound)
			}), nil)
			u, err := url.Parse(fmt.Sprintf("http://site.example:%d/", start))
			if err != nil {
				t.Fatal(err)
			}
			e := New(Config{RootCAs: ca.Pool, Timeouts: Timeouts{TCP: time.Second, HTTP: 500 * time.Millisecond}}, nil)
			var log hopLog
			hops, _ := e.fetchLogged(t.Context(), u, []string{"127.0.0.1"}, resolveTo("hop.example"), &log, nil)
			if len(hops) != 2 || deref(hops[1].Failure) != tt.hopFailure {
				t.Fatalf("hops = %s, want a second hop failing with %q", dump(hops), tt.hopFailure)
			}
			hopPort := portOfAddress(t, hops[1].Address)
			if len(log.tcp) != 1 || log.tcp[0].IP != "127.0.0.1" || log.tcp[0].Port != hopPort || deref(log.tcp[0].Failure) != tt.tcpFailure || log.tcp[0].Origin != "probe" {
				t.Errorf("hop connects = %s, want one to 127.0.0.1:%d failing with %q", dump(log.tcp), hopPort, tt.tcpFailure)
			}
			switch {
			case !tt.tls && len(log.tls) != 0:
				t.Errorf("hop handshakes = %s, want none", dump(log.tls))
			case tt.tls && (len(log.tls) != 1 || log.tls[0].SNI != "hop.example" || log.tls[0].Port != hopPort || deref(log.tls[0].Failure) != tt.tlsFailure):
				t.Errorf("hop handshakes = %s, want one for hop.example failing with %q", dump(log.tls), tt.tlsFailure)
			case tt.tls && tt.tlsFailure == "" && (!log.tls[0].CertValid || len(log.tls[0].Certificates) == 0 || log.tls[0].Version == ""):
				t.Errorf("hop handshake = %s, want a valid certificate recorded", dump(log.tls))
			}
		})
	}
}

// portOfAddress returns the port of IP:PORT.
func portOfAddress(t *testing.T, address string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(address)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(p, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
