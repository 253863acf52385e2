package engine

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// run is the state of one target being measured: the target, the observations recorded so
// far, and the addresses to connect to. Steps append to it; a step run twice (for
// addresses the control added later) only handles what it has not handled yet.
type run struct {
	t   target.Target
	obs *measurement.Observations
	// fps collects fingerprint matches of every step.
	fps []measurement.FingerprintMatch
	// endpoints are the addresses to connect to, in order, de-duplicated.
	endpoints []endpoint

	// resolve looks up other hosts (HTTP redirects).
	resolve func(ctx context.Context, host string) ([]string, error)
	// pending are the DNS questions whose late-reply windows may still be open.
	pending []*dnsquery.Result
	// cleanup runs when the target is done (contexts that outlive their step).
	cleanup []func()
	// spares are the TLS step's handshaken connections kept for the HTTP step's first
	// request, by spareKey; nil once the HTTP step ran (or when there is none to come).
	spares map[string]*tls.Conn
	// connected are the TCP step's connections kept for the TLS step, by address; the
	// TLS step takes them and closes the rest.
	connected map[string]net.Conn

	mu sync.Mutex // guards obs and fps while a step works concurrently
}

// endpoint is one address to connect to and where it came from.
type endpoint struct {
	IP     string
	Origin string // measurement.OriginProbe, OriginControl or OriginTarget
}

// addEndpoint appends ip unless it is already known.
func (r *run) addEndpoint(ip, origin string) {
	for _, e := range r.endpoints {
		if e.IP == ip {
			return
		}
	}
	r.endpoints = append(r.endpoints, endpoint{IP: ip, Origin: origin})
}

// spareKey names a kept connection: address and server name.
func spareKey(address, sni string) string { return address + " " + strings.ToLower(sni) }

// keep stores c, handshaken with ip:port for sni, for the HTTP step; it is closed if the
// HTTP step already ran.
func (r *run) keep(ip string, port int, sni string, c *tls.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spares == nil {
		_ = c.Close()
		return
	}
	k := spareKey(net.JoinHostPort(ip, strconv.Itoa(port)), sni)
	if old := r.spares[k]; old != nil {
		_ = old.Close()
	}
	r.spares[k] = c
}

// take hands out the kept connection to address for sni, once; nil if there is none.
func (r *run) take(address, sni string) *tls.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := spareKey(address, sni)
	c := r.spares[k]
	delete(r.spares, k)
	return c
}

// dropSpares closes the connections nobody took and stops keeping new ones.
func (r *run) dropSpares() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.spares {
		_ = c.Close()
	}
	r.spares = nil
}

// keepTCP keeps the TCP step's connection to ip for the TLS step (https targets), or
// closes it.
func (r *run) keepTCP(ip string, c net.Conn) {
	if r.t.URL.Scheme != "https" {
		_ = c.Close()
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.connected == nil {
		r.connected = map[string]net.Conn{}
	}
	if old := r.connected[ip]; old != nil {
		_ = old.Close()
	}
	r.connected[ip] = c
}

// takeTCP hands out the kept connection to ip, once; nil if there is none.
func (r *run) takeTCP(ip string) net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.connected[ip]
	delete(r.connected, ip)
	return c
}

// dropTCP closes the kept TCP connections nobody took.
func (r *run) dropTCP() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.connected {
		_ = c.Close()
	}
	r.connected = nil
}
