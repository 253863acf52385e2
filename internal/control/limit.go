package control

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
)

// Rate limit defaults for anonymous clients, per client address.
const (
	// DefaultRate is the requests per second an anonymous client address may make on
	// average: about what one probe measuring 32 targets at once asks.
	DefaultRate = 10
	// DefaultBurst is how many requests it may make at once: well under the default
	// queue (MaxConcurrent + MaxQueue = 1,280), so one address cannot fill it.
	DefaultBurst = 32
)

// clientAddr is the address a request comes from: the connection's peer, or, when the
// peer is a trusted reverse proxy, the right-most X-Forwarded-For entry that is not a
// trusted proxy (entries further left are the client's own word). The zero Addr when
// nothing parses.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !inPrefixes(peer, trusted) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHost(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			break // not an address: the chain of proxies is broken here
		}
		if !inPrefixes(a, trusted) {
			return a
		}
	}
	return peer
}

// parseHost parses "ADDR" or "ADDR:PORT" ("[v6]:port"), dropping any zone.
func parseHost(s string) netip.Addr {
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// Metrics counts the handler's answers that are not observations. Its fields are safe for
// concurrent use; give one to HandlerOptions.Metrics to read them.
type Metrics struct {
	Unauthorized atomic.Int64 // 401: missing credential where one is required, or a bad one
	RateLimited  atomic.Int64 // 429: an anonymous client address over its rate
	Busy         atomic.Int64 // 503: too many observations running and queued
}

// WritePrometheus writes the counters in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# HELP pantau_control_refused_total Control requests refused, by reason.\n")
	b.WriteString("# TYPE pantau_control_refused_total counter\n")
	for _, c := range []struct {
		reason string
		n      *atomic.Int64
	}{{"unauthorized", &m.Unauthorized}, {"rate_limited", &m.RateLimited}, {"busy", &m.Busy}} {
		b.WriteString(`pantau_control_refused_total{reason="` + c.reason + `"} ` + strconv.FormatInt(c.n.Load(), 10) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
