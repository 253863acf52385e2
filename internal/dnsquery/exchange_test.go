package dnsquery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

func ans(name, typ string, ttl uint32, data string) measurement.DNSAnswer {
	return measurement.DNSAnswer{Name: name, Type: typ, TTL: ttl, Data: data}
}

func fail(s string) *string { return measurement.Failure(s) }

// noRTT returns q with every RTT zeroed, after checking that each reply's RTT was taken.
func noRTT(t *testing.T, q measurement.DNSQuery) measurement.DNSQuery {
	t.Helper()
	if q.Rcode != "" && q.RTTMS <= 0 {
		t.Errorf("rtt_ms = %v for a reply", q.RTTMS)
	}
	q.RTTMS = 0
	if q.LateReplies != nil {
		late := make([]measurement.DNSReply, len(q.LateReplies))
		for i, r := range q.LateReplies {
			if r.RTTMS <= 0 {
				t.Errorf("late reply %d: rtt_ms = %v", i, r.RTTMS)
			}
			r.RTTMS = 0
			late[i] = r
		}
		q.LateReplies = late
	}
	return q
}

// checkQuery compares got with want, ignoring RTTs.
func checkQuery(t *testing.T, what string, got, want measurement.DNSQuery) {
	t.Helper()
	got = noRTT(t, got)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

func TestExchangeUDP(t *testing.T) {
	t.Parallel()
	many := make([]string, 40)
	manyAns := make([]measurement.DNSAnswer, 40)
	for i := range many {
		many[i] = fmt.Sprintf("big.example. 300 IN A 93.184.216.%d", i+1)
		manyAns[i] = ans("big.example", "A", 300, fmt.Sprintf("93.184.216.%d", i+1))
	}
	tests := []struct {
		name  string
		query string
		qtype uint16
		lab   string
		reply answerFunc
		want  measurement.DNSQuery // Resolver, Transport filled in by the test
	}{{
		name: "nxdomain", query: "gone.example", qtype: dns.TypeA,
		reply: records(t, dns.RcodeNameError),
		want: measurement.DNSQuery{Query: "gone.example", QType: "A", Rcode: "NXDOMAIN",
			Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSNXDomain)},
	}, {
		name: "block page address", query: "blocked.example", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, "blocked.example. 1 IN A 36.86.63.185"),
		want: measurement.DNSQuery{Query: "blocked.example", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("blocked.example", "A", 1, "36.86.63.185")}},
	}, {
		name: "servfail", query: "broken.example", qtype: dns.TypeA,
		reply: records(t, dns.RcodeServerFailure),
		want: measurement.DNSQuery{Query: "broken.example", QType: "A", Rcode: "SERVFAIL",
			Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSServfail)},
	}, {
		name: "refused", query: "example.com", qtype: dns.TypeA,
		reply: records(t, dns.RcodeRefused),
		want: measurement.DNSQuery{Query: "example.com", QType: "A", Rcode: "REFUSED",
			Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSRefused)},
	}, {
		name: "noerror without answer", query: "example.com", qtype: dns.TypeAAAA,
		reply: records(t, dns.RcodeSuccess),
		want: measurement.DNSQuery{Query: "example.com", QType: "AAAA", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSNoAnswer)},
	}, {
		name: "answer of another type only", query: "example.com", qtype: dns.TypeAAAA,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34"),
		want: measurement.DNSQuery{Query: "example.com", QType: "AAAA", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34")}, Failure: fail(failure.DNSNoAnswer)},
	}, {
		name: "aaaa", query: "example.com", qtype: dns.TypeAAAA,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN AAAA 2606:2800:220:1:248:1893:25c8:1946"),
		want: measurement.DNSQuery{Query: "example.com", QType: "AAAA", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "AAAA", 60, "2606:2800:220:1:248:1893:25c8:1946")}},
	}, {
		name: "name in mixed case with trailing dot", query: "WWW.Example.COM.", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, "www.example.com. 60 IN A 93.184.216.34"),
		want: measurement.DNSQuery{Query: "www.example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("www.example.com", "A", 60, "93.184.216.34")}},
	}, {
		name: "cname chain", query: "www.example.com", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess,
			"www.example.com. 300 IN CNAME cdn.example.net.",
			"cdn.example.net. 60 IN CNAME edge.example.org.",
			"edge.example.org. 20 IN A 93.184.216.34"),
		want: measurement.DNSQuery{Query: "www.example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{
				ans("www.example.com", "CNAME", 300, "cdn.example.net"),
				ans("cdn.example.net", "CNAME", 60, "edge.example.org"),
				ans("edge.example.org", "A", 20, "93.184.216.34"),
			}},
	}, {
		name: "cname without address", query: "www.example.com", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, "www.example.com. 300 IN CNAME cdn.example.net."),
		want: measurement.DNSQuery{Query: "www.example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("www.example.com", "CNAME", 300, "cdn.example.net")},
			Failure: fail(failure.DNSNoAnswer)},
	}, {
		name: "other record types as text", query: "example.com", qtype: dns.TypeMX,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN MX 10 mail.example.com."),
		want: measurement.DNSQuery{Query: "example.com", QType: "MX", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "MX", 60, "10 mail.example.com.")}},
	}, {
		name: "big answer needs edns0", query: "big.example", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, many...),
		want:  measurement.DNSQuery{Query: "big.example", QType: "A", Rcode: "NOERROR", Answers: manyAns},
	}, {
		name: "some answers bogon", query: "example.com", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN A 10.1.2.3", "example.com. 60 IN A 93.184.216.34"),
		want: measurement.DNSQuery{Query: "example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "10.1.2.3"), ans("example.com", "A", 60, "93.184.216.34")},
			Bogons:  []string{"10.1.2.3"}},
	}, {
		name: "all answers bogon", query: "example.com", qtype: dns.TypeA,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN A 10.1.2.3", "example.com. 60 IN A 192.168.1.1", "example.com. 60 IN A 10.1.2.3"),
		want: measurement.DNSQuery{Query: "example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "10.1.2.3"), ans("example.com", "A", 60, "192.168.1.1"), ans("example.com", "A", 60, "10.1.2.3")},
			Bogons:  []string{"10.1.2.3", "192.168.1.1"}, Failure: fail(failure.DNSBogon)},
	}, {
		name: "bogon aaaa", query: "example.com", qtype: dns.TypeAAAA,
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN AAAA ::1"),
		want: measurement.DNSQuery{Query: "example.com", QType: "AAAA", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "AAAA", 60, "::1")},
			Bogons:  []string{"::1"}, Failure: fail(failure.DNSBogon)},
	}, {
		name: "lab range is not bogon", query: "example.com", qtype: dns.TypeA, lab: "10.0.0.0/8",
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN A 10.1.2.3"),
		want: measurement.DNSQuery{Query: "example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "10.1.2.3")}},
	}, {
		name: "lab range exempts only itself", query: "example.com", qtype: dns.TypeA, lab: "10.0.0.0/8",
		reply: records(t, dns.RcodeSuccess, "example.com. 60 IN A 10.1.2.3", "example.com. 60 IN A 192.168.1.1"),
		want: measurement.DNSQuery{Query: "example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "10.1.2.3"), ans("example.com", "A", 60, "192.168.1.1")},
			Bogons:  []string{"192.168.1.1"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var lab []netip.Prefix
			if tt.lab != "" {
				lab = []netip.Prefix{netip.MustParsePrefix(tt.lab)}
			}
			addr := startUDP(t, handler(tt.reply))
			c := NewClient(Options{Bogons: bogon.New(lab)})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res := c.Exchange(ctx, mustResolver(t, addr), tt.query, tt.qtype)
			want := tt.want
			want.Resolver, want.Transport = "udp://"+addr, measurement.TransportUDP
			checkQuery(t, "First", res.First(), want)
			waitDone(t, c, res)
			checkQuery(t, "Wait", res.Wait(), want)
		})
	}
}

// TestExchangeFailures covers queries that get no reply at all.
func TestExchangeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		addr    func(t testing.TB) string
		timeout time.Duration // of the context; 0: none (the client's default applies)
		cancel  bool          // cancel the context right after Exchange
		want    string
	}{
		{name: "silence", addr: silentUDP, timeout: 500 * time.Millisecond, want: failure.GenericTimeout},
		{name: "silence without context deadline", addr: silentUDP, want: failure.GenericTimeout},
		{name: "closed port", addr: closedPort, timeout: 30 * time.Second, want: failure.ConnectionRefused},
		{name: "canceled", addr: silentUDP, timeout: 30 * time.Second, cancel: true, want: failure.Interrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tt.addr(t)
			c := NewClient(Options{LateWait: time.Second})
			c.timeout = 500 * time.Millisecond
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
			}
			defer cancel()
			res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
			if tt.cancel {
				cancel()
			}
			want := measurement.DNSQuery{Resolver: "udp://" + addr, Transport: "udp", Query: "example.com", QType: "A",
				Answers: []measurement.DNSAnswer{}, Failure: fail(tt.want)}
			checkQuery(t, "First", res.First(), want)
			waitDone(t, c, res)
			checkQuery(t, "Wait", res.Wait(), want)
		})
	}
}

// TestExchangeSystemFlag checks that the resolver's identity is copied into the record,
// also for a Resolver built by hand from its Address.
func TestExchangeSystemFlag(t *testing.T) {
	t.Parallel()
	addr := startUDP(t, handler(records(t, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34")))
	c := NewClient(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range []Resolver{
		{Address: "udp://" + addr, Transport: measurement.TransportUDP, System: true},
		{Address: addr, System: true},
		func() Resolver { r := mustResolver(t, addr); r.System = true; return r }(),
	} {
		got := c.Exchange(ctx, r, "example.com", dns.TypeA).Wait()
		want := measurement.DNSQuery{Resolver: "udp://" + addr, Transport: "udp", System: true, Query: "example.com", QType: "A",
			Rcode: "NOERROR", Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34")}}
		checkQuery(t, r.Address, got, want)
	}
	bad := c.Exchange(ctx, Resolver{Address: "x://y"}, "example.com", dns.TypeA).Wait()
	if bad.Failure == nil || *bad.Failure != `unknown_failure: resolver "x://y": unsupported scheme "x" (want udp, tcp, tls or https)` {
		t.Errorf("bad resolver: failure %v", bad.Failure)
	}
}
