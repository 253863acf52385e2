package dnsquery

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

func TestWhoami(t *testing.T) {
	t.Parallel()
	h := handler(func(q dns.Question, m *dns.Msg) {
		switch {
		case q.Name == "whoami.akamai.net." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, rr(t, "whoami.akamai.net. 180 IN A 198.51.100.7"))
		case q.Name == "o-o.myaddr.l.google.com." && q.Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, rr(t, `o-o.myaddr.l.google.com. 60 IN TXT "2001:db8::7"`),
				rr(t, `o-o.myaddr.l.google.com. 60 IN TXT "edns0-client-subnet 192.0.2.0/24"`))
		case q.Name == "both.example.":
			m.Answer = append(m.Answer, rr(t, "both.example. 60 IN A 198.51.100.7"), rr(t, `both.example. 60 IN TXT "198.51.100.7"`))
		case q.Name == "gone.example.":
			m.Rcode = dns.RcodeNameError
		case q.Name == "half.example." && q.Qtype == dns.TypeTXT:
			m.Rcode = dns.RcodeServerFailure
		}
	})
	addr := startUDP(t, h)
	silent := silentUDP(t)
	tests := []struct {
		name, resolver, query string
		egress                []string
		failure               *string
	}{
		{name: "akamai A", resolver: addr, query: "whoami.akamai.net", egress: []string{"198.51.100.7"}},
		{name: "google TXT", resolver: addr, query: "o-o.myaddr.l.google.com", egress: []string{"2001:db8::7"}},
		{name: "both", resolver: addr, query: "both.example", egress: []string{"198.51.100.7"}},
		{name: "nxdomain", resolver: addr, query: "gone.example", egress: []string{}, failure: fail(failure.DNSNXDomain)},
		{name: "no answer", resolver: addr, query: "empty.example", egress: []string{}, failure: fail(failure.DNSNoAnswer)},
		{name: "A no answer, TXT servfail", resolver: addr, query: "half.example", egress: []string{}, failure: fail(failure.DNSServfail)},
		{name: "silence", resolver: silent, query: "whoami.akamai.net", egress: []string{}, failure: fail(failure.GenericTimeout)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewClient(Options{LateWait: time.Hour})
			timeout := 30 * time.Second
			if tt.resolver == silent {
				timeout = 500 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			r := mustResolver(t, tt.resolver)
			r.System = true
			got := c.Whoami(ctx, r, tt.query)
			want := measurement.ResolverInfo{Resolver: "udp://" + tt.resolver, Transport: "udp", System: true, Egress: tt.egress, Failure: tt.failure}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Whoami = %+v, want %+v", got, want)
			}
			if n := c.active.Load(); n != 0 {
				t.Errorf("%d query goroutines still running", n)
			}
		})
	}
}
