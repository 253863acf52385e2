package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// connectLimit bounds the connects (and handshakes) one step runs at once.
const connectLimit = 8

// dialer returns a dialer that asks the DialGuard about the address actually dialled,
// after name resolution, so neither redirects nor rebinding can get around it.
func (e *Engine) dialer() *net.Dialer {
	d := &net.Dialer{}
	if guard := e.cfg.DialGuard; guard != nil {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return failure.New(failure.RefusedPrivate, fmt.Errorf("dial guard: %w", err))
			}
			if err := guard(ap.Addr().Unmap()); err != nil {
				return failure.New(failure.RefusedPrivate, err)
			}
			return nil
		}
	}
	return d
}

// connect opens a TCP connection to ip:port within the TCP timeout and records the
// attempt. The connection is nil when the attempt failed; the caller closes it.
func (e *Engine) connect(ctx context.Context, ip string, port int, origin string) (measurement.TCPConnect, net.Conn) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.TCP)
	defer cancel()
	start := time.Now()
	conn, err := e.dialer().DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	rec := measurement.TCPConnect{
		IP:      ip,
		Port:    port,
		Origin:  origin,
		Failure: measurement.Failure(failure.Classify(err)),
		TimeMS:  measurement.Ms(time.Since(start)),
	}
	return rec, conn
}

// tcpStep connects to every endpoint not connected to yet, a few at once, and records
// the attempts in endpoint order. For an https target the connections stay open for the
// TLS step, which handshakes on them as OONI's webconnectivity does.
func (e *Engine) tcpStep(ctx context.Context, r *run) {
	r.mu.Lock()
	var todo []endpoint
	for _, ep := range r.endpoints {
		if !hasTCP(r.obs.TCP, ep.IP, r.t.Port) {
			todo = append(todo, ep)
		}
	}
	r.mu.Unlock()
	recs := make([]measurement.TCPConnect, len(todo))
	bounded(len(todo), func(i int) {
		rec, conn := e.connect(ctx, todo[i].IP, r.t.Port, todo[i].Origin)
		if conn != nil {
			r.keepTCP(todo[i].IP, conn)
		}
		recs[i] = rec
	})
	r.mu.Lock()
	r.obs.TCP = append(r.obs.TCP, recs...)
	r.mu.Unlock()
}

// hasTCP reports whether a connect to ip:port is already recorded (a redirect hop's
// connect to another port does not count).
func hasTCP(tcp []measurement.TCPConnect, ip string, port int) bool {
	for _, c := range tcp {
		if c.IP == ip && c.Port == port {
			return true
		}
	}
	return false
}

// bounded calls f(0) … f(n-1), at most connectLimit at once, and returns when all
// returned.
func bounded(n int, f func(i int)) {
	if n == 1 {
		f(0) // one address, the common case: no goroutine, nor a new stack to grow
		return
	}
	sem := make(chan struct{}, connectLimit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
