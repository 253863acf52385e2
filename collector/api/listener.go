package api

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// LimitListener returns ln holding at most perAddr open connections per client address
// (IPv4 whole, IPv6 by /64, as the read rate limit counts): a connection beyond that is
// closed as soon as it is accepted, before a byte is read, and counted in
// pantau_connections_refused_total. perAddr 0 or less: ln itself.
//
// The address is the connection's peer: behind a reverse proxy that is the proxy's
// (a forwarded address is a header, read only after the connection is taken).
func (s *Server) LimitListener(ln net.Listener, perAddr int) net.Listener {
	if perAddr <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, per: perAddr, open: map[string]int{}, refused: &s.metrics.connsRefused, log: s.log}
}

type limitListener struct {
	net.Listener
	per     int
	refused *atomic.Int64
	log     *slog.Logger

	mu   sync.Mutex
	open map[string]int // open connections per client key
}

// Accept returns the next connection whose address is under its cap, closing the others.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := addrKey(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[key]
		if n < l.per {
			l.open[key] = n + 1
		}
		l.mu.Unlock()
		if n >= l.per {
			l.refused.Add(1)
			l.log.Debug("connection refused: too many from one address", "addr", key, "open", n)
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: c, l: l, key: key}, nil
	}
}

// release forgets one open connection of key.
func (l *limitListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// addrKey is ratelimit.AddrKey of a connection's peer; the whole address text when it is not IP.
func addrKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	return ratelimit.AddrKey(ap.Addr().Unmap())
}

// limitConn is an accepted connection that gives its slot back when closed.
type limitConn struct {
	net.Conn
	l    *limitListener
	key  string
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// CloseWrite half-closes a TCP connection: net/http does so before it closes a
// connection whose request body it did not read, so that the client reads the answer
// instead of a reset.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
