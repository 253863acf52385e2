package dnsquery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestStreamTransports asks the same questions over TCP, DoT and DoH.
func TestStreamTransports(t *testing.T) {
	t.Parallel()
	pool, cert := newTestPKI(t, "127.0.0.1")
	otherPool, _ := newTestPKI(t, "127.0.0.1")
	namePool, nameCert := newTestPKI(t, "dns.example")
	many := make([]string, 40)
	manyAns := make([]measurement.DNSAnswer, 40)
	for i := range many {
		many[i] = fmt.Sprintf("example.com. 300 IN A 93.184.216.%d", i+1)
		manyAns[i] = ans("example.com", "A", 300, fmt.Sprintf("93.184.216.%d", i+1))
	}
	h := handler(func(q dns.Question, m *dns.Msg) {
		switch q.Name {
		case "example.com.":
			m.Answer = append(m.Answer, rr(t, "example.com. 60 IN A 93.184.216.34"))
		case "big.example.":
			records(t, dns.RcodeSuccess, many...)(q, m)
		case "wrong.example.":
			m.Question[0].Name = "other.example."
		default:
			m.Rcode = dns.RcodeNameError
		}
	})
	tcp := startTCP(t, h, "127.0.0.1:0", nil)
	dot := startTCP(t, h, "127.0.0.1:0", &cert)
	dotName := startTCP(t, h, "127.0.0.1:0", &nameCert)
	doh, _ := startDoH(t, h, cert, http.StatusOK)
	doh503, _ := startDoH(t, h, cert, http.StatusServiceUnavailable)

	ok := []measurement.DNSAnswer{ans("example.com", "A", 60, "93.184.216.34")}
	tests := []struct {
		name     string
		resolver string
		roots    *x509.CertPool
		query    string
		want     measurement.DNSQuery // Resolver, Transport, Query, QType filled in
		late     []measurement.DNSReply
	}{
		{name: "tcp", resolver: "tcp://" + tcp, query: "example.com", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: ok}},
		{name: "tcp big", resolver: "tcp://" + tcp, query: "big.example", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: manyAns}},
		{name: "tcp nxdomain", resolver: "tcp://" + tcp, query: "gone.example",
			want: measurement.DNSQuery{Rcode: "NXDOMAIN", Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSNXDomain)}},
		{name: "tcp wrong question", resolver: "tcp://" + tcp, query: "wrong.example",
			want: measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.DNSReplyMismatch)},
			late: []measurement.DNSReply{{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{}}}},
		{name: "dot", resolver: "tls://" + dot, roots: pool, query: "example.com", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: ok}},
		{name: "dot big", resolver: "dot://" + dot, roots: pool, query: "big.example", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: manyAns}},
		{name: "dot unknown authority", resolver: "tls://" + dot, roots: otherPool, query: "example.com",
			want: measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.SSLUnknownAuth)}},
		{name: "dot wrong name", resolver: "tls://" + dotName, roots: namePool, query: "example.com",
			want: measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.SSLInvalidHostname)}},
		{name: "doh", resolver: doh.URL + "/dns-query", roots: pool, query: "example.com", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: ok}},
		{name: "doh default path", resolver: doh.URL, roots: pool, query: "example.com", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: ok}},
		{name: "doh big", resolver: doh.URL + "/dns-query", roots: pool, query: "big.example", want: measurement.DNSQuery{Rcode: "NOERROR", Answers: manyAns}},
		{name: "doh servfail", resolver: doh503.URL + "/dns-query", roots: pool, query: "example.com",
			want: measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail("unknown_failure: doh: HTTP status 503")}},
		{name: "doh unknown authority", resolver: doh.URL + "/dns-query", roots: otherPool, query: "example.com",
			want: measurement.DNSQuery{Answers: []measurement.DNSAnswer{}, Failure: fail(failure.SSLUnknownAuth)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustResolver(t, tt.resolver)
			c := NewClient(Options{RootCAs: tt.roots, LateWait: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res := c.Exchange(ctx, r, tt.query, dns.TypeA)
			want := tt.want
			want.Resolver, want.Transport, want.Query, want.QType = r.Address, r.Transport, tt.query, "A"
			checkQuery(t, "First", res.First(), want)
			waitDone(t, c, res)
			want.LateReplies = tt.late
			checkQuery(t, "Wait", res.Wait(), want)
		})
	}
}

// TestStreamSilence connects to TCP and DoT servers that accept and never answer.
func TestStreamSilence(t *testing.T) {
	t.Parallel()
	pool, cert := newTestPKI(t, "127.0.0.1")
	for _, tt := range []struct {
		name, scheme string
		cert         *tls.Certificate
	}{{"tcp", "tcp://", nil}, {"dot", "tls://", &cert}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := listenTCP("127.0.0.1:0", tt.cert)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			t.Cleanup(func() { close(done); _ = l.Close() })
			go func() {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				if tc, ok := conn.(*tls.Conn); ok {
					_ = tc.Handshake()
				}
				<-done
			}()
			c := NewClient(Options{RootCAs: pool})
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			r := mustResolver(t, tt.scheme+l.Addr().String())
			res := c.Exchange(ctx, r, "example.com", dns.TypeA)
			want := measurement.DNSQuery{Resolver: r.Address, Transport: r.Transport, Query: "example.com", QType: "A",
				Answers: []measurement.DNSAnswer{}, Failure: fail(failure.GenericTimeout)}
			checkQuery(t, "First", res.First(), want)
			waitDone(t, c, res)
		})
	}
}

// TestDoHKeepAlive checks that queries to one DoH server share a connection.
func TestDoHKeepAlive(t *testing.T) {
	t.Parallel()
	pool, cert := newTestPKI(t, "127.0.0.1")
	srv, conns := startDoH(t, handler(records(t, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34")), cert, http.StatusOK)
	c := NewClient(Options{RootCAs: pool})
	r := mustResolver(t, srv.URL)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		q := c.Exchange(ctx, r, "example.com", dns.TypeA).Wait()
		cancel()
		if q.Failure != nil {
			t.Fatalf("query %d: %s", i, *q.Failure)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 queries, want 1", n)
	}
}

// TestDoTConcurrent checks that one DoT configuration serves concurrent queries.
func TestDoTConcurrent(t *testing.T) {
	t.Parallel()
	pool, cert := newTestPKI(t, "127.0.0.1")
	addr := startTCP(t, handler(records(t, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34")), "127.0.0.1:0", &cert)
	c := NewClient(Options{RootCAs: pool})
	r := mustResolver(t, "tls://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := make([]*Result, 10)
	for i := range results {
		results[i] = c.Exchange(ctx, r, "example.com", dns.TypeA)
	}
	for i, res := range results {
		if q := res.Wait(); q.Failure != nil || len(q.Answers) != 1 {
			t.Errorf("query %d: failure %v, answers %v", i, q.Failure, q.Answers)
		}
	}
	if n := c.active.Load(); n != 0 {
		t.Errorf("%d query goroutines still running", n)
	}
}

// newTestPKI makes a throw-away CA and a server certificate it signed for hosts (IP
// addresses or DNS names). It returns a pool holding only the CA, for RootCAs, and the
// leaf with its key, for a server.
func newTestPKI(t testing.TB, hosts ...string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	ca := testpki.NewCA(t, "Pantau test CA")
	return ca.Pool, ca.Valid(t, hosts...)
}
