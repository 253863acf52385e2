// Package testdns runs real DNS servers on loopback for tests: Start serves any
// dns.Handler over UDP on 127.0.0.1, and Zone is a handler answering A and AAAA questions
// from a name → addresses map. Only tests (_test.go files) and benchmark programs
// (testbed/bench, testbed/dist) import it, never the shipped programs; it is an ordinary
// package so that they all share one server instead of each keeping a copy.
package testdns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// Start serves h over UDP on 127.0.0.1 (a free port), returns once the server is
// listening and stops it when the test ends. It returns the server's IP:PORT.
func Start(t testing.TB, h dns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := Serve(pc, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return pc.LocalAddr().String()
}

// Serve serves h on pc (for programs without a testing.TB, or that tune the socket
// first) and returns once the server is listening; stop shuts it down and closes pc.
func Serve(pc net.PacketConn, h dns.Handler) (stop func(), err error) {
	return run(&dns.Server{PacketConn: pc, Handler: h}, pc.LocalAddr())
}

// ServeListener serves h over TCP (or, with a tls.Listen listener, DoT) on l and
// returns once the server is listening; stop shuts it down and closes l.
func ServeListener(l net.Listener, h dns.Handler) (stop func(), err error) {
	return run(&dns.Server{Listener: l, Handler: h}, l.Addr())
}

// run starts srv and waits until it listens or fails.
func run(srv *dns.Server, addr net.Addr) (stop func(), err error) {
	started := make(chan struct{})
	errc := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { errc <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-errc:
		return nil, fmt.Errorf("testdns: serve %s: %w", addr, err)
	}
	return func() { _ = srv.Shutdown() }, nil
}

// DefaultTTL is the TTL of a Zone's answers when Zone.TTL is 0.
const DefaultTTL = 60

// Zone answers questions about the names in Addrs (without the final dot, matched
// exactly): an A question gets the name's IPv4 addresses, an AAAA question its IPv6 ones,
// other types an empty NOERROR. Names in Rcodes get that rcode and no answer instead.
// Other names get Default's addresses when Default is set, otherwise NXDOMAIN. An
// address that does not parse makes the reply SERVFAIL, so that a typo in a test shows.
type Zone struct {
	Addrs   map[string][]string
	Rcodes  map[string]int
	Default []string
	TTL     uint32
}

// Names makes a Zone from a map of name → one address.
func Names(m map[string]string) Zone {
	z := Zone{Addrs: make(map[string][]string, len(m))}
	for name, addr := range m {
		z.Addrs[name] = []string{addr}
	}
	return z
}

// ServeDNS answers r's one question from z.
func (z Zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.TrimSuffix(q.Name, ".")
	addrs, known := z.Addrs[name]
	rcode, special := z.Rcodes[name]
	switch {
	case special:
		m.Rcode = rcode
	case !known && z.Default == nil:
		m.Rcode = dns.RcodeNameError
	default:
		if !known {
			addrs = z.Default
		}
		rrs, err := z.answer(q, addrs)
		if err != nil {
			m.Rcode = dns.RcodeServerFailure
		}
		m.Answer = rrs
	}
	_ = w.WriteMsg(m)
}

// answer returns the records of addrs that fit q's type.
func (z Zone) answer(q dns.Question, addrs []string) ([]dns.RR, error) {
	ttl := z.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var rrs []dns.RR
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("testdns: address of %s: %w", q.Name, err)
		}
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: ttl}
		switch {
		case q.Qtype == dns.TypeA && a.Is4():
			rrs = append(rrs, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case q.Qtype == dns.TypeAAAA && a.Is6():
			rrs = append(rrs, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	return rrs, nil
}
