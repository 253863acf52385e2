package dnsquery

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// exchangeStream asks m over TCP, DoT or DoH and returns the reply.
//
// TCP and DoT use a dns.Conn on a connection of their own rather than
// dns.Client.ExchangeContext: the effect is the same (one question, the context deadline
// on every read and write), and canceling ctx aborts the exchange at once, which miekg/dns
// does not do.
func (c *Client) exchangeStream(ctx context.Context, r Resolver, m *dns.Msg) (*dns.Msg, error) {
	if r.Transport == measurement.TransportDoH {
		return c.exchangeDoH(ctx, r, m)
	}
	var nc net.Conn
	var err error
	if r.Transport == measurement.TransportDoT {
		d := tls.Dialer{NetDialer: &c.dialer, Config: c.dotConfig(r.serverName)}
		nc, err = d.DialContext(ctx, "tcp", r.hostport)
	} else {
		nc, err = c.dialer.DialContext(ctx, "tcp", r.hostport)
	}
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer nc.Close()
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(longAgo()) })
	defer stop()
	co := &dns.Conn{Conn: nc}
	if err := co.WriteMsg(m); err != nil {
		return nil, ctxErr(ctx, err)
	}
	for {
		reply, err := co.ReadMsg()
		if err != nil {
			return nil, ctxErr(ctx, err)
		}
		if reply.Id == m.Id { // anything else on a fresh connection is not ours
			return reply, nil
		}
	}
}

// exchangeDoH POSTs m as application/dns-message (RFC 8484). The message keeps its random
// ID: RFC 8484 suggests ID 0 for HTTP caches, which POST does not use.
//
// A status other than 200 fails as "unknown_failure: doh: HTTP status N": the failure
// taxonomy has no string for it, and following failure.Classify's convention for
// unknown errors keeps the status in the record (a block page answering for the DoH
// server typically shows as 403 or a redirect).
func (c *Client) exchangeDoH(ctx context.Context, r Resolver, m *dns.Msg) (*dns.Msg, error) {
	packed, err := m.Pack()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(packed))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/dns-message")
	req.Header.Set("Accept", "application/dns-message")
	resp, err := c.doh.Do(req)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Read a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("doh: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, dns.MaxMsgSize+1))
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	reply := new(dns.Msg)
	if err := reply.Unpack(body); err != nil {
		return nil, fmt.Errorf("doh: %w", err)
	}
	return reply, nil
}
