package dnsquery

import (
	"context"
	"net"
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
)

// exchangeUDP asks m over UDP, publishes the first matching reply (or the TCP retry of a
// truncated one) as res.first, then collects further replies until the late window
// closes. It writes res.late and closes the socket before returning.
func (c *Client) exchangeUDP(ctx context.Context, res *Result, r Resolver, m *dns.Msg, rec measurement.DNSQuery, lateWait time.Duration) {
	start := time.Now()
	publish := func() {
		res.first = rec
		close(res.firstDone)
	}
	fail := func(err error) { // err has been through ctxErr where that applies
		rec.RTTMS = measurement.Ms(time.Since(start))
		rec.Failure = measurement.Failure(failure.Classify(err))
		publish()
	}
	conn, err := c.dialer.DialContext(ctx, "udp", r.hostport)
	if err != nil {
		fail(ctxErr(ctx, err))
		return
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline() // exchange made sure there is one
	setDeadline := func(t time.Time) {
		_ = conn.SetReadDeadline(t)
		if ctx.Err() != nil { // the AfterFunc below may have run before this deadline was set
			_ = conn.SetReadDeadline(longAgo())
		}
	}
	setDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(longAgo()) })
	defer stop()

	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := *bp
	packed, err := m.PackBuffer(buf)
	if err != nil {
		fail(err)
		return
	}
	id, q := m.Id, m.Question[0]
	start = time.Now()
	if _, err := conn.Write(packed); err != nil {
		fail(ctxErr(ctx, err))
		return
	}

	// The first reply with our ID and question is the answer. Replies with our ID and
	// another question go to the late replies; other packets are not ours.
	var reply *dns.Msg
	wrong := false
	for reply == nil {
		n, err := conn.Read(buf)
		if err != nil {
			err = ctxErr(ctx, err)
			if wrong && failure.Classify(err) == failure.GenericTimeout {
				err = failure.New(failure.DNSReplyMismatch, err)
			}
			fail(err)
			return
		}
		msg := new(dns.Msg)
		if msg.Unpack(buf[:n]) != nil || msg.Id != id {
			continue
		}
		if !matches(id, q, msg) {
			wrong = true
			if len(res.late) < maxLate {
				res.late = append(res.late, toReply(msg, time.Since(start)))
			}
			continue
		}
		reply = msg
	}
	firstAt := time.Now()
	rec.RTTMS = measurement.Ms(firstAt.Sub(start))
	c.fill(&rec, reply)
	if !reply.Truncated {
		publish()
		c.collectLate(conn, buf, id, res, start, firstAt, lateWait, deadline, setDeadline)
		return
	}

	// TC set: ask again over TCP to the same address while the UDP socket keeps
	// listening. If TCP fails, the record keeps the truncated UDP reply's rcode and
	// answers with the TCP failure.
	rec.Truncated = true
	var wrongTCP *measurement.DNSReply
	tcpDone := make(chan struct{})
	go func() {
		defer close(tcpDone)
		tr, err := c.exchangeStream(ctx, Resolver{Transport: measurement.TransportTCP, hostport: r.hostport}, m)
		wrongTCP = c.record(&rec, m, tr, err, time.Since(start))
		publish()
	}()
	c.collectLate(conn, buf, id, res, start, firstAt, lateWait, deadline, setDeadline)
	<-tcpDone
	if wrongTCP != nil {
		res.late = append(res.late, *wrongTCP)
	}
}

// collectLate reads further replies with our ID until lateWait after the first reply or
// the deadline, whichever is first, and appends them to res.late.
func (c *Client) collectLate(conn net.Conn, buf []byte, id uint16, res *Result, start, firstAt time.Time,
	lateWait time.Duration, deadline time.Time, setDeadline func(time.Time)) {
	if lateWait <= 0 {
		return
	}
	end := firstAt.Add(lateWait)
	if deadline.Before(end) {
		end = deadline
	}
	setDeadline(end)
	for len(res.late) < maxLate {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		msg := new(dns.Msg)
		if msg.Unpack(buf[:n]) != nil || msg.Id != id {
			continue
		}
		res.late = append(res.late, toReply(msg, time.Since(start)))
	}
}
