package dnsquery

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/testdns"
)

// answerFunc fills in the reply m to the question q (rcode, records, flags).
type answerFunc func(q dns.Question, m *dns.Msg)

// handler turns f into a dns.Handler that insists on what every Pantau query carries:
// RD set and EDNS0 with a 1232-byte payload (anything else gets FORMERR). Replies are
// truncated to the size the client advertised, as real servers do.
func handler(f answerFunc) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		opt := req.IsEdns0()
		switch {
		case len(req.Question) != 1 || !req.RecursionDesired || opt == nil || opt.UDPSize() != ednsSize:
			m.Rcode = dns.RcodeFormatError
		default:
			f(req.Question[0], m)
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			size := dns.MinMsgSize
			if opt != nil {
				size = int(opt.UDPSize())
			}
			m.Truncate(size)
		}
		_ = w.WriteMsg(m)
	})
}

// rr parses one record in zone-file syntax or fails the test.
func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("rr %q: %v", s, err)
	}
	return r
}

// records answers every question with the given records and rcode.
func records(t testing.TB, rcode int, zone ...string) answerFunc {
	rrs := make([]dns.RR, len(zone))
	for i, s := range zone {
		rrs[i] = rr(t, s)
	}
	return func(_ dns.Question, m *dns.Msg) {
		m.Rcode = rcode
		m.Answer = append(m.Answer, rrs...)
	}
}

// startUDP serves h over UDP on 127.0.0.1 and returns IP:PORT.
func startUDP(t testing.TB, h dns.Handler) string {
	t.Helper()
	return testdns.Start(t, h)
}

// serveTCP serves h on l and stops it when the test ends.
func serveTCP(t testing.TB, l net.Listener, h dns.Handler) {
	t.Helper()
	stop, err := testdns.ServeListener(l, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// startTCP serves h over TCP (or, with a certificate, DoT) on addr and returns IP:PORT.
func startTCP(t testing.TB, h dns.Handler, addr string, cert *tls.Certificate) string {
	t.Helper()
	l, err := listenTCP(addr, cert)
	if err != nil {
		t.Fatal(err)
	}
	serveTCP(t, l, h)
	return l.Addr().String()
}

func listenTCP(addr string, cert *tls.Certificate) (net.Listener, error) {
	if cert != nil {
		return tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	return net.Listen("tcp", addr)
}

// startUDPTCP serves udp over UDP and tcp over TCP on the same 127.0.0.1 port.
func startUDPTCP(t testing.TB, udp, tcp dns.Handler) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		if err != nil { // port taken for TCP: try another
			_ = pc.Close()
			continue
		}
		stop, err := testdns.Serve(pc, udp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		serveTCP(t, l, tcp)
		return addr
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

// startDoH serves h as RFC 8484 POST /dns-query over HTTPS with cert and returns the
// server (its URL plus /dns-query is the resolver) and a counter of new connections.
func startDoH(t testing.TB, h dns.Handler, cert tls.Certificate, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := new(dns.Msg)
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/dns-query" ||
			r.Header.Get("Content-Type") != "application/dns-message" || req.Unpack(body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if status != http.StatusOK {
			http.Error(w, "nope", status)
			return
		}
		dw := &dohWriter{}
		h.ServeDNS(dw, req)
		w.Header().Set("Content-Type", "application/dns-message")
		_, _ = w.Write(dw.buf.Bytes())
	}))
	conns := new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake errors are expected in tests
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, conns
}

// dohWriter is the dns.ResponseWriter of one DoH request.
type dohWriter struct{ buf bytes.Buffer }

func (w *dohWriter) LocalAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (w *dohWriter) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (w *dohWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *dohWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }
func (w *dohWriter) Close() error                { return nil }
func (w *dohWriter) TsigStatus() error           { return nil }
func (w *dohWriter) TsigTimersOnly(bool)         {}
func (w *dohWriter) Hijack()                     {}

// rawUDP is a UDP server under the test's control: for each query it calls send, which
// may write any number of packets (to from) at any pace.
func rawUDP(t testing.TB, send func(pc net.PacketConn, from net.Addr, q *dns.Msg)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			q := new(dns.Msg)
			if err != nil || q.Unpack(buf[:n]) != nil {
				continue
			}
			go send(pc, from, q)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// sendReply writes to from a reply to q built by f.
func sendReply(pc net.PacketConn, from net.Addr, q *dns.Msg, f func(m *dns.Msg)) {
	m := new(dns.Msg)
	m.SetReply(q)
	f(m)
	if b, err := m.Pack(); err == nil {
		_, _ = pc.WriteTo(b, from)
	}
}

// silentUDP returns the address of a UDP socket that never answers.
func silentUDP(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}

// closedPort returns a 127.0.0.1 address where nothing listens (for UDP).
func closedPort(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	return addr
}

// mustResolver parses s or fails the test.
func mustResolver(t testing.TB, s string) Resolver {
	t.Helper()
	r, err := ParseResolver(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// port returns the port of IP:PORT.
func port(t testing.TB, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// waitDone waits for res like the engine does and checks that the query's goroutine
// finished (the socket is closed before it does).
func waitDone(t testing.TB, c *Client, res *Result) {
	t.Helper()
	done := make(chan struct{})
	go func() { res.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return")
	}
	if n := c.active.Load(); n != 0 {
		t.Fatalf("%d query goroutines still running after Wait", n)
	}
}
