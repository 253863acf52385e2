package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// maxRedirects bounds a redirect chain: like Go's http.Client, the fetch stops after 10
// requests that all redirected, and the last one records http_too_many_redirects.
const maxRedirects = 10

// keptHeaders are the response headers recorded with each request.
var keptHeaders = []string{"Location", "Server", "Content-Type", "Content-Length", "Via", "X-Cache", "X-Powered-By"}

// keepLen is how much of each body is kept for the title and fingerprints; the rest, up
// to the body cap, is only counted and hashed. Block pages are small: a fetch's keep
// buffer starts at 8 KiB and grows only for a larger body.
const keepLen = 64 << 10

// fetchBuf holds the buffers of one fetch; they are pooled, so a busy probe reuses a
// few instead of allocating per request.
type fetchBuf struct {
	keep    []byte
	scratch []byte
	br      *bufio.Reader
	bw      *bufio.Writer
	head    headLimit
}

// newFetchBuf allocates the buffers of one fetch; Engine.bufs pools them.
func newFetchBuf() any {
	return &fetchBuf{
		keep: make([]byte, 0, 8<<10),
		br:   bufio.NewReaderSize(nil, 4<<10),
		bw:   bufio.NewWriterSize(nil, 1<<10),
	}
}

// fetch GETs u and follows its redirects, recording one request per hop. The first
// hop's host is reached at addrs, in order, the first that connects; other hosts are
// looked up with resolve. HTTP/1.1 over a fresh connection per hop; certificates are
// verified against the configured roots. Fingerprints are matched against every reply.
func (e *Engine) fetch(ctx context.Context, u *url.URL, addrs []string, resolve func(ctx context.Context, host string) ([]string, error)) ([]measurement.HTTPRequest, []measurement.FingerprintMatch) {
	return e.fetchLogged(ctx, u, addrs, resolve, nil, nil)
}

// hopLog collects the connects and handshakes of a fetch's redirect hops (every hop
// after the first, whose connects are the TCP step's), so that a hop that failed tells
// at which step: no connect, a failed handshake, or a failure after them.
type hopLog struct {
	tcp []measurement.TCPConnect
	tls []measurement.TLSHandshake
}

// fetchLogged is fetch, recording the redirect hops' connects and handshakes in log
// (nil: not recorded). take, when not nil, hands out a connection already handshaken
// with an address and the first host (the TLS step's), which the first hop uses instead
// of connecting.
func (e *Engine) fetchLogged(ctx context.Context, u *url.URL, addrs []string, resolve func(ctx context.Context, host string) ([]string, error), log *hopLog, take takeFunc) ([]measurement.HTTPRequest, []measurement.FingerprintMatch) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.HTTP)
	defer cancel()
	buf := e.bufs.Get().(*fetchBuf)
	defer func() {
		// drop the last connection before the buffers go back
		buf.br.Reset(nil)
		buf.bw.Reset(nil)
		buf.head.r = nil
		e.bufs.Put(buf)
	}()
	first := u.Hostname()
	next := *u
	next.Fragment, next.RawFragment = "", ""
	var hops []measurement.HTTPRequest
	var fps []measurement.FingerprintMatch
	for i := range maxRedirects {
		cur := next
		hl, tk := log, takeFunc(nil)
		if i == 0 {
			hl, tk = nil, take
		}
		rec, h, body := e.request(ctx, &cur, first, addrs, resolve, buf, hl, tk)
		if h != nil {
			fps = append(fps, e.cfg.Fingerprints.MatchHTTP(fmt.Sprintf("http[%d]", i), rec.Status, h, rec.Title, body)...)
		}
		hops = append(hops, rec)
		loc, ok := redirect(rec, &cur)
		if !ok {
			break
		}
		if i == maxRedirects-1 {
			hops[i].Failure = measurement.Failure(failure.HTTPTooManyRedir)
			break
		}
		next = *loc
	}
	return hops, fps
}

// httpStep fetches the target URL at the addresses of the probe's own DNS (or the
// target's IP literal) that connected, else at all of them, and records the hops and
// fingerprint matches. Without any address (DNS failed) there is nothing to fetch.
func (e *Engine) httpStep(ctx context.Context, r *run) {
	r.mu.Lock()
	var addrs []string
	for _, c := range r.obs.TCP {
		if c.Failure == nil && c.Origin != measurement.OriginControl && !slices.Contains(addrs, c.IP) {
			addrs = append(addrs, c.IP)
		}
	}
	if len(addrs) == 0 {
		for _, ep := range r.endpoints {
			if ep.Origin != measurement.OriginControl {
				addrs = append(addrs, ep.IP)
			}
		}
	}
	r.mu.Unlock()
	if len(addrs) == 0 {
		return
	}
	var log hopLog
	hops, fps := e.fetchLogged(ctx, r.t.URL, addrs, r.resolve, &log, r.take)
	r.dropSpares()
	r.mu.Lock()
	r.obs.HTTP = append(r.obs.HTTP, hops...)
	r.obs.TCP = append(r.obs.TCP, log.tcp...)
	r.obs.TLS = append(r.obs.TLS, log.tls...)
	r.fps = append(r.fps, fps...)
	r.mu.Unlock()
}

// redirect returns where rec redirects to, if it does to an http(s) URL.
func redirect(rec measurement.HTTPRequest, cur *url.URL) (*url.URL, bool) {
	switch rec.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, false
	}
	loc := rec.Headers["Location"]
	if rec.Failure != nil || loc == "" {
		return nil, false
	}
	next, err := cur.Parse(loc)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") || next.Hostname() == "" {
		return nil, false
	}
	// An internationalised host (http://bérita.example/, raw or percent-encoded) is
	// looked up and asked for in its A-label form; an invalid one ends the chain.
	if !isASCII(next.Hostname()) {
		host, err := target.Host(next.Hostname())
		if err != nil {
			return nil, false
		}
		if p := next.Port(); p != "" {
			host = net.JoinHostPort(host, p)
		}
		next.Host = host
	}
	next.Fragment, next.RawFragment = "", ""
	return next, true
}

// isASCII reports whether s is plain ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// request sends one GET for u and reads its reply. It returns the record and, when a
// reply came, its headers and the kept part of its body (valid until buf is reused).
// The hop's connects and handshake go to log, unless it is nil. A connection from take
// is used as it is; if it fails before any reply byte (the server dropped it while it
// waited), the request is repeated on a fresh connection.
func (e *Engine) request(ctx context.Context, u *url.URL, first string, addrs []string, resolve func(context.Context, string) ([]string, error), buf *fetchBuf, log *hopLog, take takeFunc) (rec measurement.HTTPRequest, h http.Header, body []byte) {
	// rec is a named result so that the deferred timing below lands in what is returned.
	rec = measurement.HTTPRequest{URL: u.String(), Method: http.MethodGet}
	// fail records err; a read cut short by the context reports the context's reason.
	fail := func(err error) {
		if errors.Is(err, net.ErrClosed) && ctx.Err() != nil {
			err = ctx.Err()
		}
		rec.Failure = measurement.Failure(failure.Classify(err))
	}
	start := time.Now()
	defer func() { rec.TimeMS = measurement.Ms(time.Since(start)) }()
	conn, kept, err := e.dialHop(ctx, u, first, addrs, resolve, &rec, log, take)
	if err != nil {
		fail(err)
		return rec, nil, nil
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if u.Scheme == "https" && !kept {
		tc, err := e.hopHandshake(ctx, conn, u, rec.Address, log)
		if err != nil {
			fail(err)
			return rec, nil, nil
		}
		conn = tc
	}
	resp, err := e.roundTrip(ctx, conn, u, buf)
	if err != nil && kept && buf.head.n == maxHead && ctx.Err() == nil {
		_ = conn.Close()
		return e.request(ctx, u, first, addrs, resolve, buf, log, nil)
	}
	if err != nil {
		fail(err)
		return rec, nil, nil
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	for _, k := range keptHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			if rec.Headers == nil {
				rec.Headers = map[string]string{}
			}
			rec.Headers[k] = strings.Join(v, ", ")
		}
	}
	body, n, sum, truncated, err := readBody(resp.Body, e.cfg.BodyCap, buf.keep, keepLen, &buf.scratch)
	buf.keep = body[:0] // a grown buffer goes back to the pool grown
	rec.BodyLength, rec.BodyTruncated = n, truncated
	rec.BodySHA256 = hex.EncodeToString(sum)
	rec.Title = title(body)
	fail(err)
	return rec, resp.Header, body
}

// dialHop connects to u's host: addrs for the first host, the literal for an IP, else
// what resolve returns; the first address that connects wins. rec.Address is the last
// address tried. An address take has a connection for (https only) is not connected
// again: that connection is returned, with kept true (it is handshaken already).
func (e *Engine) dialHop(ctx context.Context, u *url.URL, first string, addrs []string, resolve func(context.Context, string) ([]string, error), rec *measurement.HTTPRequest, log *hopLog, take takeFunc) (conn net.Conn, kept bool, err error) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, false, failure.New(failure.HTTPInvalidReply, fmt.Errorf("port %q: %w", port, err))
	}
	ips := addrs
	if _, err := netip.ParseAddr(host); err == nil {
		ips = []string{host}
	} else if !strings.EqualFold(host, first) {
		if resolve == nil {
			return nil, false, failure.New(failure.DNSNoAnswer, fmt.Errorf("no resolver for %s", host))
		}
		if ips, err = resolve(ctx, host); err != nil {
			return nil, false, err
		}
	}
	err = failure.New(failure.DNSNoAnswer, fmt.Errorf("no address for %s", host))
	for _, ip := range ips {
		rec.Address = net.JoinHostPort(ip, port)
		if take != nil && u.Scheme == "https" {
			if tc := take(rec.Address, host); tc != nil {
				return tc, true, nil
			}
		}
		tcp, conn := e.connect(ctx, ip, p, hopOrigin(host))
		if log != nil {
			log.tcp = append(log.tcp, tcp)
		}
		if conn != nil {
			return conn, false, nil
		}
		err = failure.New(*tcp.Failure, nil)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, false, err
}

// takeFunc hands out a connection handshaken with address for sni, once; nil if none.
type takeFunc func(address, sni string) *tls.Conn

// hopOrigin is the origin of a hop's connects: the literal of an IP host, else the
// probe's DNS (the hop's host was resolved by the probe's resolver, or is the target's).
func hopOrigin(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return measurement.OriginTarget
	}
	return measurement.OriginProbe
}

// hopHandshake runs a hop's TLS handshake on conn (connected to address) with u's host
// and verifies the chain, recording the handshake in log (unless nil) as the TLS step
// records its own.
func (e *Engine) hopHandshake(ctx context.Context, conn net.Conn, u *url.URL, address string, log *hopLog) (*tls.Conn, error) {
	start := time.Now()
	tc := tls.Client(conn, clientTLS(u.Hostname(), "http/1.1"))
	err := tc.HandshakeContext(ctx)
	if err == nil {
		err = e.verify(tc.ConnectionState().PeerCertificates, u.Hostname())
	}
	if log != nil {
		host, port, _ := net.SplitHostPort(address)
		p, _ := strconv.Atoi(port)
		rec := measurement.TLSHandshake{IP: host, Port: p, SNI: u.Hostname(), Failure: measurement.Failure(failure.Classify(err))}
		if cs := tc.ConnectionState(); cs.HandshakeComplete {
			rec.Version, rec.CipherSuite, rec.ALPN = tlsVersion(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.NegotiatedProtocol
			rec.Certificates = certificates(cs.PeerCertificates)
			rec.CertValid = err == nil
		}
		rec.TimeMS = measurement.Ms(time.Since(start))
		log.tls = append(log.tls, rec)
	}
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// roundTrip writes a GET for u on conn and reads the reply head, skipping 1xx replies.
func (e *Engine) roundTrip(ctx context.Context, conn net.Conn, u *url.URL, buf *fetchBuf) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failure.New(failure.HTTPInvalidReply, fmt.Errorf("request: %w", err))
	}
	req.Header.Set("User-Agent", e.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Accept-Language", "en")
	req.Close = true
	buf.head = headLimit{r: conn, n: maxHead} // n stays maxHead until a reply byte came
	buf.bw.Reset(conn)
	if err := req.Write(buf.bw); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	if err := buf.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	buf.br.Reset(&buf.head)
	for {
		resp, err := http.ReadResponse(buf.br, req)
		if err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			buf.head.n = math.MaxInt64 // the body has its own cap
			return resp, nil
		}
	}
}

// maxHead bounds the reply head (status line and headers).
const maxHead = 1 << 20

// headLimit reads from r until n bytes were read, then fails: a reply head that never
// ends is an invalid reply, not a reason to grow without bound.
type headLimit struct {
	r io.Reader
	n int64
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, failure.New(failure.HTTPInvalidReply, errors.New("reply head over 1 MiB"))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// readBody reads body up to limit bytes, keeping the first keepMax of them in keep
// (grown from its capacity as the body needs, so a small page costs a small buffer) and
// hashing them all, and reports whether more followed. The rest is read through scratch,
// allocated on first use. The error is the read error that ended the body early, if any.
func readBody(body io.Reader, limit int64, keep []byte, keepMax int, scratch *[]byte) (kept []byte, n int64, sum []byte, truncated bool, err error) {
	h := sha256.New()
	keep = keep[:0]
	for {
		inKeep := n < int64(keepMax) && n < limit
		var dst []byte
		switch {
		case n == limit:
			dst = scratchBuf(scratch)[:1] // one byte past the cap tells truncation
		case inKeep:
			if len(keep) == cap(keep) {
				keep = slices.Grow(keep, min(max(cap(keep), 4<<10), keepMax-len(keep)))
			}
			dst = keep[n:min(int64(cap(keep)), int64(keepMax), limit)]
		default:
			sc := scratchBuf(scratch)
			dst = sc[:min(int64(len(sc)), limit-n)]
		}
		m, rerr := body.Read(dst)
		if n == limit {
			truncated = m > 0
			if truncated || rerr != nil {
				break
			}
			continue
		}
		h.Write(dst[:m])
		n += int64(m)
		if inKeep {
			keep = keep[:n]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	return keep, n, h.Sum(nil), truncated, err
}

// scratchBuf returns *p, allocating it (16 KiB) on first use.
func scratchBuf(p *[]byte) []byte {
	if *p == nil {
		*p = make([]byte, 16<<10)
	}
	return *p
}

// title returns the page title: the first <title> element, entities decoded, white
// space collapsed, at most 200 characters.
func title(body []byte) string {
	i := indexTag(body, "<title")
	if i < 0 {
		return ""
	}
	rest := body[i:]
	j := bytes.IndexByte(rest, '>')
	if j < 0 {
		return ""
	}
	rest = rest[j+1:]
	k := indexTag(rest, "</title")
	if k < 0 {
		return ""
	}
	raw := rest[:k]
	if len(raw) > 4096 {
		raw = raw[:4096]
	}
	t := strings.Join(strings.Fields(html.UnescapeString(string(raw))), " ")
	if r := []rune(t); len(r) > 200 {
		t = string(r[:200])
	}
	return t
}

// indexTag returns the index of the first tag name (like "<title", any case) followed by
// '>', '/' or white space, or -1.
func indexTag(b []byte, tag string) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '<')
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(tag)
		if end < len(b) && bytes.EqualFold(b[i:end], []byte(tag)) && strings.IndexByte(">/ \t\r\n\f", b[end]) >= 0 {
			return i
		}
		off = i + 1
	}
}
