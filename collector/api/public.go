package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// Public wraps a handler of the public read API (queries, reports, the dashboard): each
// client address (IPv6 by its /64, which one subscriber usually holds whole) gets the
// ReadLimiter's rate; beyond it, 429 with Retry-After. Reads need no login, and some
// (compliance, a long timeline) cost seconds of work: the limit keeps one client from
// taking the collector from everyone else.
func (s *Server) Public(h http.Handler) http.Handler {
	if s.o.ReadLimiter == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.o.ReadLimiter.Allow(ratelimit.AddrKey(s.clientAddr(r)), s.o.Now()); !ok {
			s.metrics.readLimited.Add(1)
			w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
			writeError(w, http.StatusTooManyRequests, "rate limit exceeded for this address: retry later")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// clientAddr is the request's source address: the connection's, or behind a trusted
// reverse proxy the last X-Forwarded-For entry (the one that proxy added; earlier ones are
// the client's word). Invalid: the zero Addr.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	host := r.RemoteAddr
	if s.o.TrustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			parts := strings.Split(f, ",")
			host = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}
