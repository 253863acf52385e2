// Package qa reproduces the scenarios of OONI's Web Connectivity QA suite
// (ooni/probe-cli internal/webconnectivityqa) in process: real DNS servers
// (miekg/dns), real HTTP and TLS servers on loopback, the real engine as the probe and
// a real control helper (engine behind control.NewHandler) asked over HTTP. Each
// scenario builds the situation, measures it and asserts Pantau's verdict. Scenarios that
// need a middlebox on the probe's path only (resets, blackholes, throttling) run in the
// netns testbed instead (testbed/qa_test.go). docs/verdicts.md, "OONI QA scenarios",
// lists both with OONI's expectation and why Pantau's differs where it does. The servers
// listen on 127.0.1.0/24, which Linux routes to loopback as a whole.
package qa

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/testdns"
	"github.com/pantau-dev/pantau/internal/testnet"
)

// record is what a zone answers for one name: addresses (A and AAAA), or a CNAME to a
// name without addresses, or an rcode (NXDOMAIN, SERVFAIL, ...).
type record struct {
	addrs []string
	cname string
	rcode int
}

// zone is a name → record map; names are lower-case, without the final dot.
type zone map[string]record

// with returns a copy of z with over applied; a record with rcode -1 deletes the name.
func (z zone) with(over zone) zone {
	out := zone{}
	for k, v := range z {
		out[k] = v
	}
	for k, v := range over {
		if v.rcode == -1 {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// serveZone runs a UDP DNS server on 127.0.0.1 answering from z: unknown names get
// NXDOMAIN, known ones their addresses of the asked type (none: an empty NOERROR). For
// the names in inject, an on-path injector answers first from inject and the resolver's
// own reply follows injectDelay later, as with OONI's netem DPISpoofDNSResponse.
func serveZone(t *testing.T, z, inject zone) dnsquery.Resolver {
	t.Helper()
	addr := testdns.Start(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		name := strings.ToLower(strings.TrimSuffix(r.Question[0].Name, "."))
		if rec, ok := inject[name]; ok {
			_ = w.WriteMsg(reply(r, rec, true))
			time.Sleep(injectDelay)
		}
		rec, ok := z[name]
		_ = w.WriteMsg(reply(r, rec, ok))
	}))
	r, err := dnsquery.ParseResolver(addr)
	if err != nil {
		t.Fatal(err)
	}
	r.System = true
	return r
}

// injectDelay is how much later than the injected reply the resolver's own arrives.
const injectDelay = 20 * time.Millisecond

// reply answers r's question from rec (NXDOMAIN when the name is unknown).
func reply(r *dns.Msg, rec record, known bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	switch {
	case !known:
		m.Rcode = dns.RcodeNameError
	case rec.rcode != 0:
		m.Rcode = rec.rcode
	case rec.cname != "":
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(q.Name, dns.TypeCNAME), Target: dns.Fqdn(rec.cname)})
	default:
		for _, a := range rec.addrs {
			ip := net.ParseIP(a)
			switch {
			case q.Qtype == dns.TypeA && ip.To4() != nil:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(q.Name, dns.TypeA), A: ip})
			case q.Qtype == dns.TypeAAAA && ip.To4() == nil:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(q.Name, dns.TypeAAAA), AAAA: ip})
			}
		}
	}
	return m
}

func hdr(name string, typ uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: typ, Class: dns.ClassINET, Ttl: 60}
}

// listenOn listens on ip:port (port 0: any); the listener is closed at cleanup.
func listenOn(t *testing.T, ip string, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// serveHTTP serves h on ip:port, over TLS with cert when cert is not nil.
func serveHTTP(t *testing.T, ip string, port int, h http.Handler, cert *tls.Certificate) {
	t.Helper()
	ln := listenOn(t, ip, port)
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
}

// forward is a transparent TCP proxy: every connection on ln is spliced to upstream.
func forward(t *testing.T, ln net.Listener, upstream string) {
	t.Helper()
	testnet.ServeConns(t, ln, func(c net.Conn) {
		u, err := net.DialTimeout("tcp", upstream, 2*time.Second)
		if err != nil {
			return
		}
		defer u.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
		<-done
	})
}

// resetAll accepts connections and resets them at once (RST, not FIN).
func resetAll(t *testing.T, ln net.Listener) {
	t.Helper()
	testnet.ServeConns(t, ln, func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	})
}

// freePort returns a port on ip that nothing listens on (it was just closed).
func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return p
}

// page is a handler serving an HTML page with title and body text.
func page(title, text string) http.Handler {
	body := "<!DOCTYPE html><html><head><title>" + title + "</title></head><body>" + text + "</body></html>"
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, body)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
