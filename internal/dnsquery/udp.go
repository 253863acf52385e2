package dnsquery

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

const (
	// udpBufSize is the UDP read buffer: beyond the 1232 bytes advertised, with room for
	// servers and injectors that ignore it.
	udpBufSize = 4096
	// maxLate bounds the further replies kept for one query (a flood must not eat memory).
	maxLate = 100
	// udpAttempts is how many times a UDP question is sent while no reply with its ID
	// has come: one lost datagram must not make a timeout (stub resolvers retry too;
	// glibc's default is two attempts). The sends are a quarter of the exchange's time
	// apart, leaving the last one at least half of it to be answered.
	udpAttempts = 3
)

// udpExchange is one question over UDP: the socket and its read buffer, the question's ID
// and question, the record being filled, when the question was sent, and the deadline of
// the whole exchange.
type udpExchange struct {
	c        *Client
	ctx      context.Context
	res      *Result
	conn     net.Conn
	buf      []byte
	id       uint16
	q        dns.Question
	packed   []byte // the question as sent, for the repeats
	rec      measurement.DNSQuery
	start    time.Time
	deadline time.Time
}

// exchangeUDP asks m over UDP, publishes the first matching reply (or the TCP retry of a
// truncated one) as res.first, then collects further replies until the late window
// closes; it writes res.late, closes the socket and calls done, once, as the window
// closes. Where the kernel stamps arrivals (late_linux.go) the window outlives the call:
// the replies queue in the socket, and a timer drains them as it closes.
func (c *Client) exchangeUDP(ctx context.Context, res *Result, r Resolver, m *dns.Msg, rec measurement.DNSQuery, lateWait time.Duration, done func()) {
	handedOff := false
	defer func() {
		if !handedOff {
			done()
		}
	}()
	x := &udpExchange{c: c, ctx: ctx, res: res, rec: rec, start: time.Now()}
	conn, err := c.dialer.DialContext(ctx, "udp", r.hostport)
	if err != nil {
		x.fail(ctxErr(ctx, err))
		return
	}
	defer func() {
		if !handedOff {
			conn.Close()
		}
	}()
	x.conn = conn
	stamped := stampArrivals(conn)
	x.deadline, _ = ctx.Deadline() // exchange made sure there is one
	x.setDeadline(x.deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(longAgo()) })
	defer stop()

	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	x.buf = *bp
	if err := x.send(m); err != nil {
		x.fail(err)
		return
	}
	reply, err := x.readFirst()
	if err != nil {
		x.fail(err)
		return
	}
	firstAt := time.Now()
	x.rec.RTTMS = measurement.Ms(firstAt.Sub(x.start))
	c.fill(&x.rec, reply)
	if reply.Truncated {
		x.retryTCP(r, m, firstAt, lateWait)
		return
	}
	x.publish()
	if stamped && lateWait > 0 {
		handedOff = true
		x.buf = nil // back to the pool; the drain takes one when the window closes
		x.closeLater(x.windowEnd(firstAt, lateWait), done)
		return
	}
	x.collectLate(firstAt, lateWait)
}

// windowEnd is when the late-reply window closes: lateWait after the first reply, or
// the exchange's deadline if that is sooner.
func (x *udpExchange) windowEnd(firstAt time.Time, lateWait time.Duration) time.Time {
	end := firstAt.Add(lateWait)
	if x.deadline.Before(end) {
		end = x.deadline
	}
	return end
}

// closeLater closes the window at end, or when the exchange's context ends if that is
// sooner: it drains the replies queued on the socket (each with its kernel arrival
// time), closes the socket and calls done.
func (x *udpExchange) closeLater(end time.Time, done func()) {
	var mu sync.Mutex
	var timer *time.Timer
	var stopCtx func() bool
	closed := false
	closeNow := func() {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		closed = true
		timer.Stop()
		stopCtx()
		x.drain()
		x.conn.Close()
		done()
	}
	mu.Lock()
	timer = time.AfterFunc(time.Until(end), closeNow)
	stopCtx = context.AfterFunc(x.ctx, closeNow)
	mu.Unlock()
}

// drain reads the replies queued on the socket, without waiting, into res.late: those
// with our ID, in arrival order, at most maxLate in all.
func (x *udpExchange) drain() {
	_ = x.conn.SetReadDeadline(time.Time{})
	bp := x.c.bufs.Get().(*[]byte)
	defer x.c.bufs.Put(bp)
	var oob [64]byte
	for len(x.res.late) < maxLate {
		n, at, ok := readQueued(x.conn, *bp, oob[:])
		if !ok {
			return
		}
		msg := new(dns.Msg)
		if msg.Unpack((*bp)[:n]) != nil || msg.Id != x.id {
			continue
		}
		x.res.late = append(x.res.late, toReply(msg, at.Sub(x.start)))
	}
}

// publish hands the record out as the first result.
func (x *udpExchange) publish() {
	x.res.first = x.rec
	close(x.res.firstDone)
}

// fail publishes the record failed with err (which has been through ctxErr where that
// applies).
func (x *udpExchange) fail(err error) {
	x.rec.RTTMS = measurement.Ms(time.Since(x.start))
	x.rec.Failure = measurement.Failure(failure.Classify(err))
	x.publish()
}

// setDeadline sets the socket's read deadline, keeping it in the past once ctx has ended:
// the AfterFunc that expires the socket may have run before this deadline was set.
func (x *udpExchange) setDeadline(t time.Time) {
	_ = x.conn.SetReadDeadline(t)
	if x.ctx.Err() != nil {
		_ = x.conn.SetReadDeadline(longAgo())
	}
}

// send packs m into the buffer and writes it, noting when (start).
func (x *udpExchange) send(m *dns.Msg) error {
	packed, err := m.PackBuffer(x.buf)
	if err != nil {
		return err
	}
	x.id, x.q = m.Id, m.Question[0]
	x.packed = append(x.packed[:0], packed...)
	x.start = time.Now()
	if _, err := x.conn.Write(packed); err != nil {
		return ctxErr(x.ctx, err)
	}
	return nil
}

// readFirst reads until the first reply with our ID and question: the answer. Replies
// with our ID and another question go to the late replies, and turn a timeout into
// dns_reply_mismatch; other packets are not ours. While nothing with our ID has come,
// the question is sent again on the same socket (same ID) up to udpAttempts times in
// all, so a reply to any attempt is the answer and everything after it is a late reply,
// exactly as for a single send. RTTMS counts from the first send.
func (x *udpExchange) readFirst() (*dns.Msg, error) {
	wrong := false
	interval := x.deadline.Sub(x.start) / (udpAttempts + 1)
	sent := 1
	x.setDeadline(x.resendAt(sent, interval))
	for {
		n, err := x.conn.Read(x.buf)
		if err != nil {
			if x.resendDue(err, wrong, sent) {
				if _, werr := x.conn.Write(x.packed); werr != nil {
					return nil, ctxErr(x.ctx, werr)
				}
				sent++
				x.setDeadline(x.resendAt(sent, interval))
				continue
			}
			err = ctxErr(x.ctx, err)
			if wrong && failure.Classify(err) == failure.GenericTimeout {
				err = failure.New(failure.DNSReplyMismatch, err)
			}
			return nil, err
		}
		msg := new(dns.Msg)
		if msg.Unpack(x.buf[:n]) != nil || msg.Id != x.id {
			continue
		}
		if matches(x.id, x.q, msg) {
			return msg, nil
		}
		if !wrong {
			wrong = true // something answers: no more repeats
			x.setDeadline(x.deadline)
		}
		if len(x.res.late) < maxLate {
			x.res.late = append(x.res.late, toReply(msg, time.Since(x.start)))
		}
	}
}

// resendAt is when to stop reading and send attempt sent+1, or the exchange's deadline
// after the last attempt.
func (x *udpExchange) resendAt(sent int, interval time.Duration) time.Time {
	if sent >= udpAttempts {
		return x.deadline
	}
	t := x.start.Add(time.Duration(sent) * interval)
	if t.After(x.deadline) {
		return x.deadline
	}
	return t
}

// resendDue reports whether the read error err is the repeat timer running out: a
// timeout before the exchange's deadline, with attempts left and nothing with our ID
// received.
func (x *udpExchange) resendDue(err error, wrong bool, sent int) bool {
	var ne net.Error
	return !wrong && sent < udpAttempts && x.ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() && time.Now().Before(x.deadline)
}

// retryTCP handles a truncated reply (TC set): it asks again over TCP to the same address
// while the UDP socket keeps listening, and publishes the TCP outcome. If TCP fails, the
// record keeps the truncated UDP reply's rcode and answers with the TCP failure.
func (x *udpExchange) retryTCP(r Resolver, m *dns.Msg, firstAt time.Time, lateWait time.Duration) {
	x.rec.Truncated = true
	var wrongTCP *measurement.DNSReply
	tcpDone := make(chan struct{})
	go func() {
		defer close(tcpDone)
		tr, err := x.c.exchangeStream(x.ctx, Resolver{Transport: measurement.TransportTCP, hostport: r.hostport}, m)
		wrongTCP = x.c.record(&x.rec, m, tr, err, time.Since(x.start))
		x.publish()
	}()
	x.collectLate(firstAt, lateWait)
	<-tcpDone
	if wrongTCP != nil {
		x.res.late = append(x.res.late, *wrongTCP)
	}
}

// collectLate reads further replies with our ID until lateWait after the first reply or
// the deadline, whichever is first, and appends them to res.late.
func (x *udpExchange) collectLate(firstAt time.Time, lateWait time.Duration) {
	if lateWait <= 0 {
		return
	}
	x.setDeadline(x.windowEnd(firstAt, lateWait))
	for len(x.res.late) < maxLate {
		n, err := x.conn.Read(x.buf)
		if err != nil {
			return
		}
		msg := new(dns.Msg)
		if msg.Unpack(x.buf[:n]) != nil || msg.Id != x.id {
			continue
		}
		x.res.late = append(x.res.late, toReply(msg, time.Since(x.start)))
	}
}
