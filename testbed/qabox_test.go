//go:build testbed

package testbed

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// judgeOne checks one QA measurement's verdict and observations, logging the whole
// measurement when it is wrong.
func judgeOne(t *testing.T, m *measurement.Measurement, s scenario) {
	t.Helper()
	if m == nil {
		t.Fatalf("no measurement for %s", s.target)
	}
	if m.Verdict.Status != s.status || m.Verdict.Method != s.method {
		t.Errorf("%s: verdict %s/%s (%s; evidence %q), want %s/%s", s.target, m.Verdict.Status, m.Verdict.Method,
			m.Verdict.Reason, m.Verdict.Evidence, s.status, s.method)
	}
	if s.check != nil {
		s.check(t, m)
	}
	if t.Failed() {
		b, _ := json.MarshalIndent(m, "", "  ")
		t.Logf("measurement:\n%s", b)
	}
}

// eofBox serves eof.qa in pt-net on 80 and 443. The subscriber's connections are closed
// with a FIN right after their first bytes (the request, the ClientHello), as a middlebox
// that terminates flows would (iptables can reset or drop, not close); everyone else,
// the control included, gets the site.
func (l *lab) eofBox(t *testing.T) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(l.certPath("eof.qa")+".pem", l.certPath("eof.qa")+".key")
	if err != nil {
		t.Fatal(err)
	}
	site := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>EOF hop</title></head><body><h1>EOF hop</h1></body></html>\n")
	})
	for _, port := range []string{"80", "443"} {
		var ln net.Listener
		if err := inNetns(nsNet, func() error {
			var err error
			ln, err = net.Listen("tcp", net.JoinHostPort(qaEOF, port))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ln = &closeProbe{Listener: ln}
		if port == "443" {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		}
		srv := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close(); <-done })
	}
}

// closeProbe is a listener that hands every connection but the subscriber's to its
// server; the subscriber's are read once, half-closed (FIN) and drained.
type closeProbe struct{ net.Listener }

func (l *closeProbe) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if host, _, _ := net.SplitHostPort(c.RemoteAddr().String()); host != probeAddr {
			return c, nil
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			if _, err := r.Peek(1); err != nil {
				return
			}
			_, _ = r.Discard(r.Buffered())
			_ = c.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, r)
		}()
	}
}
