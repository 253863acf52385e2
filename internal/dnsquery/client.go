// Package dnsquery holds Pantau's DNS resolvers and queries: one question to one
// resolver over UDP, TCP, DoT or DoH, recorded as a measurement.DNSQuery.
//
// It records raw observations and never loses a reply. Over UDP it does not use
// dns.Client.Exchange (which keeps only the first reply with the right ID): it writes the
// question, takes the first reply whose ID and question match as the answer, and keeps
// the socket open for Options.LateWait to collect further replies, the tell-tale of
// on-path injection (the injector answers first, the real resolver later). Replies that
// carry the query's ID but answer another question are never taken as the answer; they
// are recorded among the late replies (their answers name what they answered), and a
// query that only got such replies fails with dns_reply_with_wrong_query. A UDP reply
// with the TC bit is asked again over TCP to the same address.
package dnsquery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// DefaultTimeout bounds a query whose context has no deadline (miekg/dns honours only
// deadlines, and a query must never hang).
const DefaultTimeout = 10 * time.Second

// ednsSize is the EDNS0 UDP payload size advertised (the DNS flag day 2020 value).
const ednsSize = 1232

// longAgo returns a deadline in the past: setting it aborts blocked reads and writes.
func longAgo() time.Time { return time.Unix(1, 0) }

// Options configures a Client.
type Options struct {
	// RootCAs verifies DoT and DoH servers; nil means the system pool.
	RootCAs *x509.CertPool
	// LateWait is how long a UDP socket stays open after the first reply to collect
	// further replies (bounded by the context deadline); zero does not wait.
	LateWait time.Duration
	// Bogons flags answer addresses in reserved ranges; nil knows no lab ranges.
	Bogons *bogon.Checker
}

// Client asks DNS questions. It is safe for concurrent use; DoH connections are kept
// alive and DoT sessions resumed across queries.
type Client struct {
	lateWait time.Duration
	timeout  time.Duration // for contexts without a deadline
	bogons   *bogon.Checker
	dialer   net.Dialer
	tlsConf  *tls.Config // template for DoT; ServerName is set per resolver
	dot      sync.Map    // server name → *tls.Config
	doh      *http.Client
	bufs     sync.Pool // *[]byte of udpBufSize, UDP read buffers
	// active counts queries whose goroutine has not finished (tests check for leaks).
	active atomic.Int64
}

// NewClient returns a Client for o.
func NewClient(o Options) *Client {
	if o.Bogons == nil {
		o.Bogons = &bogon.Checker{}
	}
	tlsConf := &tls.Config{
		RootCAs:            o.RootCAs,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(256),
	}
	c := &Client{
		lateWait: o.LateWait,
		timeout:  DefaultTimeout,
		bogons:   o.Bogons,
		tlsConf:  tlsConf,
	}
	c.bufs.New = func() any { b := make([]byte, udpBufSize); return &b }
	// No proxy: DoH goes straight to the resolver, whatever the environment says.
	c.doh = &http.Client{Transport: &http.Transport{
		DialContext:         c.dialer.DialContext,
		TLSClientConfig:     tlsConf.Clone(),
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: DefaultTimeout,
	}}
	return c
}

// dotConfig returns the TLS configuration for a DoT server name, made on first use.
func (c *Client) dotConfig(serverName string) *tls.Config {
	if v, ok := c.dot.Load(serverName); ok {
		return v.(*tls.Config)
	}
	conf := c.tlsConf.Clone()
	conf.ServerName = serverName
	v, _ := c.dot.LoadOrStore(serverName, conf)
	return v.(*tls.Config)
}

// Result is a question in flight. First returns once the first reply (or failure) is
// in; Wait once the late-reply window closed too.
type Result struct {
	firstDone chan struct{}
	allDone   chan struct{}
	first     measurement.DNSQuery   // written before firstDone is closed
	late      []measurement.DNSReply // written before allDone is closed
	// after are the functions AfterWait registered before the window closed; ended says
	// it has closed.
	mu    sync.Mutex
	after []func()
	ended bool
}

// AfterWait calls f once the late-reply window has closed, when Wait returns at once: in
// the question's own goroutine as it ends, or at once in the caller's when it has ended
// already. A caller with many questions in flight waits for them without a goroutine of
// its own per question.
func (r *Result) AfterWait(f func()) {
	r.mu.Lock()
	if !r.ended {
		r.after = append(r.after, f)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	f()
}

// end closes the late-reply window: Wait returns, and the AfterWait functions run.
func (r *Result) end() {
	close(r.allDone)
	r.mu.Lock()
	r.ended = true
	after := r.after
	r.after = nil
	r.mu.Unlock()
	for _, f := range after {
		f()
	}
}

// First blocks until the first reply or failure is in and returns the record as of then
// (LateReplies empty). The returned slices are shared: treat them as read-only.
func (r *Result) First() measurement.DNSQuery {
	<-r.firstDone
	return r.first
}

// Wait blocks until the late-reply window closed and returns the full record, late
// replies included. It may be called any number of times, concurrently.
func (r *Result) Wait() measurement.DNSQuery {
	<-r.firstDone
	<-r.allDone
	q := r.first
	q.LateReplies = r.late
	return q
}

// Exchange asks r one question (name, qtype such as dns.TypeA) and returns at once; the
// question runs in the background. Result.First blocks until the first reply or failure
// is in. Over UDP the socket stays open after the first reply, collecting further
// replies until LateWait after it or ctx's deadline, whichever is first; Result.Wait
// returns the record with them. Canceling ctx ends the query and the window.
func (c *Client) Exchange(ctx context.Context, r Resolver, name string, qtype uint16) *Result {
	return c.exchange(ctx, r, name, qtype, c.lateWait)
}

func (c *Client) exchange(ctx context.Context, r Resolver, name string, qtype uint16, lateWait time.Duration) *Result {
	res := &Result{firstDone: make(chan struct{}), allDone: make(chan struct{})}
	rec := measurement.DNSQuery{
		Resolver:  r.Address,
		Transport: r.Transport,
		System:    r.System,
		Query:     strings.TrimSuffix(strings.ToLower(name), "."),
		QType:     typeString(qtype),
		Answers:   []measurement.DNSAnswer{},
	}
	ep, err := r.endpoint()
	if err != nil {
		rec.Failure = measurement.Failure(failure.Classify(err))
		res.first = rec
		close(res.firstDone)
		res.end()
		return res
	}
	rec.Resolver, rec.Transport = ep.Address, ep.Transport // canonical even when r was made by hand
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(rec.Query), qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)

	c.active.Add(1)
	go func() {
		var cancel context.CancelFunc = func() {}
		if _, ok := ctx.Deadline(); !ok {
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
		}
		// done runs once the question and its late-reply window are over, maybe after
		// this goroutine (exchangeUDP).
		done := func() {
			cancel()
			c.active.Add(-1)
			res.end()
		}
		switch ep.Transport {
		case measurement.TransportUDP:
			c.exchangeUDP(ctx, res, ep, m, rec, lateWait, done)
		default:
			defer done()
			start := time.Now()
			reply, err := c.exchangeStream(ctx, ep, m)
			if wrong := c.record(&rec, m, reply, err, time.Since(start)); wrong != nil {
				res.late = append(res.late, *wrong)
			}
			res.first = rec
			close(res.firstDone)
		}
	}()
	return res
}

// record stores the outcome of one exchange over a stream (a reply, or err) in rec. A
// reply to another question is not the answer: it is returned, for the late replies,
// and the query fails.
func (c *Client) record(rec *measurement.DNSQuery, q, reply *dns.Msg, err error, rtt time.Duration) *measurement.DNSReply {
	rec.RTTMS = measurement.Ms(rtt)
	switch {
	case err != nil:
		rec.Failure = measurement.Failure(failure.Classify(err))
	case !matches(q.Id, q.Question[0], reply):
		rec.Failure = measurement.Failure(failure.DNSReplyMismatch)
		r := toReply(reply, rtt)
		return &r
	default:
		c.fill(rec, reply)
	}
	return nil
}

// fill records reply as the answer and judges it.
func (c *Client) fill(rec *measurement.DNSQuery, reply *dns.Msg) {
	rec.Rcode = rcodeString(reply.Rcode)
	rec.Answers = answers(reply.Answer)
	rec.Failure, rec.Bogons = nil, nil
	wanted, addrs := 0, 0
	for _, a := range rec.Answers {
		if a.Type == rec.QType {
			wanted++
		}
		if a.Type == "A" || a.Type == "AAAA" {
			addrs++
			if c.bogons.IsBogonString(a.Data) && !contains(rec.Bogons, a.Data) {
				rec.Bogons = append(rec.Bogons, a.Data)
			}
		}
	}
	switch f := failure.Rcode(rec.Rcode); {
	case f != "":
		rec.Failure = measurement.Failure(f)
	case wanted == 0:
		rec.Failure = measurement.Failure(failure.DNSNoAnswer)
	case addrs > 0 && allBogon(rec.Answers, c.bogons):
		rec.Failure = measurement.Failure(failure.DNSBogon)
	}
}

func allBogon(as []measurement.DNSAnswer, b *bogon.Checker) bool {
	for _, a := range as {
		if (a.Type == "A" || a.Type == "AAAA") && !b.IsBogonString(a.Data) {
			return false
		}
	}
	return true
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// matches reports whether reply answers question q with ID id. A reply without a
// question section is accepted when its rcode is an error (servers may omit the
// question in FORMERR and similar replies).
func matches(id uint16, q dns.Question, reply *dns.Msg) bool {
	if reply.Id != id {
		return false
	}
	if len(reply.Question) == 0 {
		return reply.Rcode != dns.RcodeSuccess
	}
	b := reply.Question[0]
	return len(reply.Question) == 1 && q.Qtype == b.Qtype && q.Qclass == b.Qclass && strings.EqualFold(q.Name, b.Name)
}

// toReply summarises a further reply.
func toReply(m *dns.Msg, rtt time.Duration) measurement.DNSReply {
	return measurement.DNSReply{Rcode: rcodeString(m.Rcode), Answers: answers(m.Answer), RTTMS: measurement.Ms(rtt)}
}

// answers converts an answer section: addresses and CNAME targets as such, TXT strings
// joined, anything else in its zone-file text after the header.
func answers(rrs []dns.RR) []measurement.DNSAnswer {
	out := make([]measurement.DNSAnswer, 0, len(rrs))
	for _, rr := range rrs {
		h := rr.Header()
		a := measurement.DNSAnswer{Name: strings.TrimSuffix(h.Name, "."), Type: typeString(h.Rrtype), TTL: h.Ttl}
		switch v := rr.(type) {
		case *dns.A:
			a.Data = v.A.String()
		case *dns.AAAA:
			a.Data = v.AAAA.String()
		case *dns.CNAME:
			a.Data = strings.TrimSuffix(v.Target, ".")
		case *dns.TXT:
			a.Data = strings.Join(v.Txt, "")
		default:
			a.Data = strings.TrimPrefix(rr.String(), h.String())
		}
		out = append(out, a)
	}
	return out
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

// ctxErr prefers the context's error: a read aborted because ctx ended is a timeout or
// an interruption, whatever the socket said.
func ctxErr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	return err
}
