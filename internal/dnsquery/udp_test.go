package dnsquery

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// aRecord returns a function adding "name A ip" to a reply.
func aRecord(t testing.TB, name, ip string) func(m *dns.Msg) {
	r := rr(t, name+" 60 IN A "+ip)
	return func(m *dns.Msg) { m.Answer = append(m.Answer, r) }
}

// TestLateReplies sends several replies to one query from a raw UDP server, as an
// on-path injector and the real resolver would, and checks what First and Wait record.
func TestLateReplies(t *testing.T) {
	t.Parallel()
	const later = 50 * time.Millisecond
	bogus, real := aRecord(t, "example.com.", "10.10.34.34"), aRecord(t, "example.com.", "93.184.216.34")
	bogusAns := []measurement.DNSAnswer{ans("example.com", "A", 60, "10.10.34.34")}
	realAns := []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34")}
	tests := []struct {
		name      string
		send      func(pc net.PacketConn, from net.Addr, q *dns.Msg)
		timeout   time.Duration
		lateWait  time.Duration
		first     measurement.DNSQuery // the record of First (Resolver, Transport, Query, QType filled in)
		lateReply []measurement.DNSReply
	}{{
		name: "injected reply first, real one later",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, bogus)
			time.Sleep(later)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second, lateWait: 2 * time.Second,
		first:     measurement.DNSQuery{Rcode: "NOERROR", Answers: bogusAns, Bogons: []string{"10.10.34.34"}, Failure: fail(failure.DNSBogon)},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: realAns}},
	}, {
		name: "late reply after the context deadline is not waited for",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, bogus)
		},
		timeout: time.Second, lateWait: time.Hour,
		first: measurement.DNSQuery{Rcode: "NOERROR", Answers: bogusAns, Bogons: []string{"10.10.34.34"}, Failure: fail(failure.DNSBogon)},
	}, {
		name: "no late wait",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, real)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second,
		first:   measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
	}, {
		name: "duplicate identical replies",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, real)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second, lateWait: time.Second,
		first:     measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: realAns}},
	}, {
		name: "injected nxdomain",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) { m.Rcode = dns.RcodeNameError })
			time.Sleep(later)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second, lateWait: 2 * time.Second,
		first:     measurement.DNSQuery{Rcode: "NXDOMAIN", Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSNXDomain)},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: realAns}},
	}, {
		name: "reply with wrong name is not the answer",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) {
				m.Question[0].Name = "other.example."
				aRecord(t, "other.example.", "10.10.34.34")(m)
			})
			time.Sleep(later)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second, lateWait: time.Second,
		first:     measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{ans("other.example", "A", 60, "10.10.34.34")}}},
	}, {
		name: "reply with wrong type is not the answer",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAAAA })
			time.Sleep(later)
			sendReply(pc, from, q, real)
		},
		timeout:   30 * time.Second,
		first:     measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{}}},
	}, {
		name: "only replies with the wrong question",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) {
				m.Question[0].Name = "other.example."
				aRecord(t, "other.example.", "10.10.34.34")(m)
			})
		},
		timeout: 500 * time.Millisecond, lateWait: time.Second,
		first:     measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSReplyMismatch)},
		lateReply: []measurement.DNSReply{{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{ans("other.example", "A", 60, "10.10.34.34")}}},
	}, {
		name: "replies with another ID and garbage are ignored",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) { m.Id++; bogus(m) })
			_, _ = pc.WriteTo([]byte("garbage"), from)
			sendReply(pc, from, q, real)
		},
		timeout: 30 * time.Second, lateWait: 200 * time.Millisecond,
		first: measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
	}, {
		name: "formerr without question section is an answer",
		send: func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, func(m *dns.Msg) { m.Rcode = dns.RcodeFormatError; m.Question = nil })
		},
		timeout: 30 * time.Second,
		first:   measurement.DNSQuery{Rcode: "FORMERR", Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSFormat)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := rawUDP(t, tt.send)
			c := NewClient(Options{LateWait: tt.lateWait})
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
			first := tt.first
			first.Resolver, first.Transport, first.Query, first.QType = "udp://"+addr, "udp", "example.com", "A"
			checkQuery(t, "First", res.First(), first)
			waitDone(t, c, res)
			full := first
			full.LateReplies = tt.lateReply
			checkQuery(t, "Wait", res.Wait(), full)
		})
	}
}

// TestWaitConcurrent calls Wait from many goroutines while the window is open.
func TestWaitConcurrent(t *testing.T) {
	t.Parallel()
	addr := rawUDP(t, func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
		sendReply(pc, from, q, aRecord(t, "example.com.", "10.10.34.34"))
		time.Sleep(50 * time.Millisecond)
		sendReply(pc, from, q, aRecord(t, "example.com.", "93.184.216.34"))
	})
	c := NewClient(Options{LateWait: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
	got := make(chan measurement.DNSQuery)
	for range 8 {
		go func() { got <- res.Wait() }()
	}
	for range 8 {
		if q := <-got; len(q.LateReplies) != 1 || q.LateReplies[0].Answers[0].Data != "93.184.216.34" {
			t.Errorf("late replies %+v", q.LateReplies)
		}
	}
	waitDone(t, c, res)
}

// TestTruncated answers over UDP with TC and no records; the TCP server on the same port
// gives the full answer.
func TestTruncated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tcp  bool // serve TCP on the port
		want measurement.DNSQuery
	}{{
		name: "retried over tcp", tcp: true,
		want: measurement.DNSQuery{Rcode: "NOERROR", Truncated: true,
			Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34"), ans("example.com", "A", 60, "93.184.216.35")}},
	}, {
		name: "tcp refused keeps the udp reply",
		want: measurement.DNSQuery{Rcode: "NOERROR", Truncated: true, Answers: []measurement.DNSAnswer{},
			Failure: fail(failure.ConnectionRefused)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			udp := handler(func(_ dns.Question, m *dns.Msg) { m.Truncated = true })
			tcp := handler(records(t, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34", "example.com. 60 IN A 93.184.216.35"))
			var addr string
			if tt.tcp {
				addr = startUDPTCP(t, udp, tcp)
			} else {
				addr = startUDP(t, udp)
			}
			c := NewClient(Options{LateWait: 200 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
			want := tt.want
			want.Resolver, want.Transport, want.Query, want.QType = "udp://"+addr, "udp", "example.com", "A"
			checkQuery(t, "First", res.First(), want)
			waitDone(t, c, res)
			checkQuery(t, "Wait", res.Wait(), want)
		})
	}
}

// TestAfterWait registers functions before the late-reply window closes (they run as it
// closes, after Wait's record is complete) and after (they run at once); each runs once.
func TestAfterWait(t *testing.T) {
	later := 150 * time.Millisecond
	addr := rawUDP(t, func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
		sendReply(pc, from, q, aRecord(t, "example.com.", "192.0.2.1"))
		time.Sleep(later)
		sendReply(pc, from, q, aRecord(t, "example.com.", "10.10.34.34"))
	})
	c := NewClient(Options{LateWait: 2 * later})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
	res.First()
	calls := make(chan int, 4)
	lateSeen := make(chan int, 1)
	res.AfterWait(func() {
		calls <- 1
		lateSeen <- len(res.Wait().LateReplies) // must not block: the window is closed
	})
	if got := len(calls); got != 0 {
		t.Fatalf("AfterWait ran %d functions before the window closed", got)
	}
	select {
	case n := <-lateSeen:
		if n != 1 {
			t.Errorf("late replies when the window closed = %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AfterWait's function did not run when the window closed")
	}
	res.AfterWait(func() { calls <- 2 }) // already closed: runs at once, here
	if got := []int{<-calls, <-calls}; got[0] != 1 || got[1] != 2 || len(calls) != 0 {
		t.Errorf("AfterWait calls = %v (and %d more), want [1 2]", got, len(calls))
	}
}
