package engine

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testpki"
)

func TestHandshake(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	other := testpki.NewCA(t, "Other CA")
	valid := ca.Valid(t, "site.example")
	serve := func(cert tls.Certificate) int {
		return serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	}
	tests := []struct {
		name    string
		port    int
		cfg     Config
		failure string
		certs   bool // certificates recorded
	}{
		{"valid", serve(valid), Config{}, "", true},
		{"wrong name", serve(ca.Valid(t, "other.example")), Config{}, failure.SSLInvalidHostname, true},
		{"unknown authority", serve(other.Valid(t, "site.example")), Config{}, failure.SSLUnknownAuth, true},
		{"expired", serve(ca.Leaf(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), "site.example")), Config{}, failure.SSLInvalidCert, true},
		{"alert", serveTLS(t, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return nil, errors.New("no certificate")
		}}), Config{}, failure.SSLFailedHandshake, false},
		{"reset on hello", serveConns(t, func(c *net.TCPConn) {
			if readRecord(c) == nil {
				reset(c)
			}
		}), Config{}, failure.ConnectionReset, false},
		{"eof on hello", serveConns(t, func(c *net.TCPConn) {
			_ = readRecord(c)
		}), Config{}, failure.EOF, false},
		{"silence", serveConns(t, func(c *net.TCPConn) {
			_, _ = io.Copy(io.Discard, c)
		}), Config{Timeouts: Timeouts{TLS: 300 * time.Millisecond}}, failure.GenericTimeout, false},
		{"guard", serve(valid), Config{DialGuard: refuseLoopback}, failure.RefusedPrivate, false},
		{"refused", freePort(t), Config{}, failure.ConnectionRefused, false}, // last: no listener after it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.RootCAs = ca.Pool
			rec := New(tt.cfg, nil).handshake(t.Context(), "127.0.0.1", tt.port, "site.example", false)
			if got := deref(rec.Failure); got != tt.failure {
				t.Fatalf("failure = %q, want %q", got, tt.failure)
			}
			if rec.IP != "127.0.0.1" || rec.Port != tt.port || rec.SNI != "site.example" || rec.SNISwap {
				t.Errorf("record = %+v", rec)
			}
			if rec.CertValid != (tt.failure == "") {
				t.Errorf("cert_valid = %v", rec.CertValid)
			}
			if (len(rec.Certificates) == 1) != tt.certs {
				t.Errorf("certificates = %+v", rec.Certificates)
			}
			if tt.certs && (rec.Version != "TLSv1.3" || !strings.HasPrefix(rec.CipherSuite, "TLS_") || rec.ALPN != "h2") {
				t.Errorf("version %q, cipher suite %q, alpn %q", rec.Version, rec.CipherSuite, rec.ALPN)
			}
		})
	}
}

// TestHandshakeCertificates checks the summary of a recorded certificate.
func TestHandshakeCertificates(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	nb, na := time.Now().Add(-time.Hour).Truncate(time.Second), time.Now().Add(time.Hour).Truncate(time.Second)
	cert := ca.Leaf(t, nb, na, "site.example", "www.site.example")
	port := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	rec := New(Config{RootCAs: ca.Pool}, nil).handshake(t.Context(), "127.0.0.1", port, "www.site.example", false)
	sum := sha256.Sum256(cert.Certificate[0])
	want := []measurement.Certificate{{
		Subject:   "CN=site.example",
		Issuer:    "CN=Pantau Test CA",
		DNSNames:  []string{"site.example", "www.site.example"},
		NotBefore: nb.UTC(),
		NotAfter:  na.UTC(),
		SHA256:    hex.EncodeToString(sum[:]),
	}}
	if !reflect.DeepEqual(rec.Certificates, want) || rec.Failure != nil || !rec.CertValid || rec.ALPN != "" {
		t.Errorf("handshake = %s\nwant certificates %s", dump(rec), dump(want))
	}
}

// TestTLSStep runs the step against a server that resets handshakes naming the blocked
// domain and serves any other name: the step records the failure and a swap handshake
// that completed (with a certificate not valid for the innocuous name).
func TestTLSStep(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	cert := ca.Valid(t, "blocked.example")
	port := serveTLS(t, &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if h.ServerName == "blocked.example" {
				reset(h.Conn.(*net.TCPConn))
				return nil, errors.New("blocked")
			}
			return nil, nil
		},
	})
	tg, err := target.Parse("https://blocked.example:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: tg, obs: &measurement.Observations{TCP: []measurement.TCPConnect{
		{IP: "127.0.0.1", Port: port, Origin: measurement.OriginProbe},
		{IP: "127.0.0.2", Port: port, Origin: measurement.OriginProbe, Failure: measurement.Failure(failure.ConnectionRefused)},
	}}}
	e := New(Config{RootCAs: ca.Pool, InnocuousSNI: "innocuous.example"}, nil)
	e.tlsStep(t.Context(), r)
	e.tlsStep(t.Context(), r) // nothing left to do
	type brief struct {
		IP, SNI, Failure string
		Swap, Valid      bool
		Certs            int
	}
	var got []brief
	for _, h := range r.obs.TLS {
		got = append(got, brief{h.IP, h.SNI, deref(h.Failure), h.SNISwap, h.CertValid, len(h.Certificates)})
	}
	want := []brief{
		{"127.0.0.1", "blocked.example", failure.ConnectionReset, false, false, 0},
		{"127.0.0.1", "innocuous.example", failure.SSLInvalidHostname, true, false, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tls = %+v, want %+v", got, want)
	}
}

// TestTLSStepPlainHTTP checks that http targets get no handshake.
func TestTLSStepPlainHTTP(t *testing.T) {
	tg, err := target.Parse("http://site.example/")
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: tg, obs: &measurement.Observations{TCP: []measurement.TCPConnect{{IP: "127.0.0.1", Port: freePort(t)}}}}
	New(Config{}, nil).tlsStep(t.Context(), r)
	if len(r.obs.TLS) != 0 {
		t.Errorf("tls = %+v, want none", r.obs.TLS)
	}
}
