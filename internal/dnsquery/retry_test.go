package dnsquery

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestUDPRetry loses queries at a real UDP server: a lost datagram is sent again on the
// same socket, and what is recorded (the first reply, the late ones) is what a single
// send would have recorded.
func TestUDPRetry(t *testing.T) {
	t.Parallel()
	real := aRecord(t, "example.com.", "93.184.216.34")
	forged := aRecord(t, "example.com.", "10.10.34.34")
	realAns := []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34")}
	tests := []struct {
		name string
		// answer replies to the n-th query received (1-based); it may send nothing.
		answer  func(n int64, pc net.PacketConn, from net.Addr, q *dns.Msg)
		timeout time.Duration
		first   measurement.DNSQuery
		late    []measurement.DNSReply
		queries int64         // how many queries the server must have received
		minRTT  time.Duration // the first reply came no earlier
	}{{
		name: "the first query is lost, the repeat is answered",
		answer: func(n int64, pc net.PacketConn, from net.Addr, q *dns.Msg) {
			if n > 1 {
				sendReply(pc, from, q, real)
			}
		},
		timeout: 2 * time.Second,
		first:   measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
		queries: 2, minRTT: 2 * time.Second / (udpAttempts + 1),
	}, {
		name:    "every query is lost: a timeout after all attempts",
		answer:  func(int64, net.PacketConn, net.Addr, *dns.Msg) {},
		timeout: time.Second,
		first:   measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.GenericTimeout)},
		queries: udpAttempts,
	}, {
		name: "an injection answering the repeat is still caught as the first reply",
		answer: func(n int64, pc net.PacketConn, from net.Addr, q *dns.Msg) {
			if n == 2 {
				sendReply(pc, from, q, forged)
				time.Sleep(50 * time.Millisecond)
				sendReply(pc, from, q, real)
			}
		},
		timeout: 2 * time.Second,
		first:   measurement.DNSQuery{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{ans("example.com", "A", 60, "10.10.34.34")}, Bogons: []string{"10.10.34.34"}, Failure: fail(failure.DNSBogon)},
		late:    []measurement.DNSReply{{Rcode: "NOERROR", Answers: realAns}},
		queries: 2,
	}, {
		name: "an answer arrives at once: no repeat",
		answer: func(_ int64, pc net.PacketConn, from net.Addr, q *dns.Msg) {
			sendReply(pc, from, q, real)
		},
		timeout: 2 * time.Second,
		first:   measurement.DNSQuery{Rcode: "NOERROR", Answers: realAns},
		queries: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got atomic.Int64
			addr := rawUDP(t, func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
				tt.answer(got.Add(1), pc, from, q)
			})
			c := NewClient(Options{LateWait: 300 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
			q := res.First()
			want := tt.first
			want.Resolver, want.Transport, want.Query, want.QType = "udp://"+addr, "udp", "example.com", "A"
			checkQuery(t, "First", q, want)
			if rtt := time.Duration(q.RTTMS * float64(time.Millisecond)); rtt < tt.minRTT {
				t.Errorf("RTT %v, want at least %v (counted from the first send)", rtt, tt.minRTT)
			}
			waitDone(t, c, res)
			full := want
			full.LateReplies = tt.late
			checkQuery(t, "Wait", res.Wait(), full)
			if n := got.Load(); n != tt.queries {
				t.Errorf("server received %d queries, want %d", n, tt.queries)
			}
		})
	}
}
