package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testpki"
)

// lossyResolver is the probe's system resolver over a real UDP socket that drops the
// first drop datagrams of every question (by its ID) and answers the rest: web.test is
// 127.0.0.1, AAAA questions get an empty answer. A negative drop drops everything.
func lossyResolver(t *testing.T, drop int) dnsquery.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[uint16]int{}
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
			if err != nil || q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			mu.Lock()
			seen[q.Id]++
			dropped := drop < 0 || seen[q.Id] <= drop
			mu.Unlock()
			if dropped {
				continue
			}
			m := new(dns.Msg)
			m.SetReply(q)
			if qq := q.Question[0]; qq.Qtype == dns.TypeA && strings.TrimSuffix(qq.Name, ".") == "web.test" {
				m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)}}
			}
			if b, err := m.Pack(); err == nil {
				_, _ = pc.WriteTo(b, from)
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	r, err := dnsquery.ParseResolver(pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	r.System = true
	return r
}

// TestDNSLoss measures a healthy site through a resolver that loses queries: one lost
// datagram is sent again and decides nothing; a resolver that never answers while the
// control resolves is DNS blocking (docs/verdicts.md, rule 1.4).
func TestDNSLoss(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau test CA")
	site := page("<html><head><title>Web</title></head><body>" + strings.Repeat("real content ", 200) + "</body></html>")
	port := serveHTTPSOn(t, "127.0.0.1", site, ca.Valid(t, "web.test"))
	ctrl := helperFor(t, map[string]string{"web.test": "127.0.0.1"}, ca)
	tests := []struct {
		name           string
		drop           int
		status, method string
		failure        string // of the probe's A query
	}{
		{"the first query of each question is lost", 1, measurement.StatusAccessible, "", ""},
		{"every query is lost", -1, measurement.StatusBlocked, measurement.MethodDNS, "generic_timeout_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := New(Config{
				SystemResolvers: []dnsquery.Resolver{lossyResolver(t, tc.drop)}, LabCIDRs: lab, RootCAs: ca.Pool, LateWait: 50 * time.Millisecond,
				Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second},
			}, nil)
			tg, err := target.Parse("https://web.test:" + itoa(port) + "/")
			if err != nil {
				t.Fatal(err)
			}
			m := eng.Measure(context.Background(), tg, ctrl)
			if m.Verdict.Status != tc.status || m.Verdict.Method != tc.method {
				t.Fatalf("verdict = %+v, want %s/%s\n%s", m.Verdict, tc.status, tc.method, dump(m))
			}
			for _, q := range m.DNS {
				if q.QType == "A" && deref(q.Failure) != tc.failure {
					t.Errorf("A query failure %q, want %q", deref(q.Failure), tc.failure)
				}
				if len(q.LateReplies) != 0 {
					t.Errorf("%s query: late replies %+v, want none (a repeat is not a second reply)", q.QType, q.LateReplies)
				}
			}
		})
	}
}
