package testdns

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// TestZone asks a Zone served by Start real questions over UDP and checks rcode,
// answers and TTL.
func TestZone(t *testing.T) {
	z := Zone{
		Addrs:  map[string][]string{"site.test": {"192.0.2.1", "2001:db8::1"}, "bad.test": {"no-ip"}},
		Rcodes: map[string]int{"refused.test": dns.RcodeRefused},
	}
	addr := Start(t, z)
	wild := Start(t, Zone{Default: []string{"127.0.0.1"}, TTL: 5})
	cases := []struct {
		server, name string
		qtype        uint16
		rcode        int
		want         string // the one answer's address, "" for none
		ttl          uint32
	}{
		{addr, "site.test.", dns.TypeA, dns.RcodeSuccess, "192.0.2.1", DefaultTTL},
		{addr, "site.test.", dns.TypeAAAA, dns.RcodeSuccess, "2001:db8::1", DefaultTTL},
		{addr, "site.test.", dns.TypeMX, dns.RcodeSuccess, "", 0},
		{addr, "other.test.", dns.TypeA, dns.RcodeNameError, "", 0},
		{addr, "refused.test.", dns.TypeA, dns.RcodeRefused, "", 0},
		{addr, "bad.test.", dns.TypeA, dns.RcodeServerFailure, "", 0},
		{wild, "any.test.", dns.TypeA, dns.RcodeSuccess, "127.0.0.1", 5},
		{wild, "any.test.", dns.TypeAAAA, dns.RcodeSuccess, "", 0},
	}
	for _, tc := range cases {
		q := new(dns.Msg)
		q.SetQuestion(tc.name, tc.qtype)
		r, err := dns.Exchange(q, tc.server)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.name, dns.TypeToString[tc.qtype], err)
		}
		got := ""
		var ttl uint32
		for _, rr := range r.Answer {
			ttl = rr.Header().Ttl
			switch rr := rr.(type) {
			case *dns.A:
				got += rr.A.String()
			case *dns.AAAA:
				got += rr.AAAA.String()
			}
		}
		if r.Rcode != tc.rcode || got != tc.want || ttl != tc.ttl {
			t.Errorf("%s %s: rcode %s, answer %q ttl %d; want %s, %q ttl %d", tc.name, dns.TypeToString[tc.qtype],
				dns.RcodeToString[r.Rcode], got, ttl, dns.RcodeToString[tc.rcode], tc.want, tc.ttl)
		}
	}
}

// TestServeListener answers over TCP from a Zone served by ServeListener.
func TestServeListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := ServeListener(l, Names(map[string]string{"site.test": "192.0.2.1"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c := &dns.Client{Net: "tcp"}
	for name, want := range map[string]int{"site.test.": dns.RcodeSuccess, "gone.test.": dns.RcodeNameError} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(q, l.Addr().String())
		if err != nil {
			t.Fatalf("%s over TCP: %v", name, err)
		}
		if r.Rcode != want || (want == dns.RcodeSuccess) != (len(r.Answer) == 1) {
			t.Errorf("%s over TCP: rcode %s, %d answers; want %s", name, dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[want])
		}
	}
}
