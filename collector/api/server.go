// Package api is the collector's HTTP API: authenticated ingest of measurements into
// storage, the query API, the control endpoint for probes, health, readiness and metrics.
package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// Store is what the API needs from storage.
type Store interface {
	Write(ctx context.Context, items []store.Item) error
	Ready(ctx context.Context) error
	Measurements(ctx context.Context, f store.Filter) ([]store.StoredMeasurement, string, error)
	WriteHeartbeat(ctx context.Context, it store.HeartbeatItem) error
}

// Geo looks up the ASN of a probe's source address; nil when no MMDB is configured.
type Geo interface {
	Lookup(addr netip.Addr) (geo.Info, error)
}

// Defaults for zero Options.
const (
	DefaultBodyBytes   = 16 << 20
	DefaultBatchItems  = 1000
	DefaultMaxInFlight = 64
)

// Options configure a Server. Zero limits take the defaults; QueryLimit defaults to (and
// is capped at) store.MaxLimit.
type Options struct {
	Store    Store
	Verifier *auth.Verifier
	Limiter  *ratelimit.Limiter
	// SeriesCap bounds the new domains and schedule names each probe may bring into the
	// store (auth.SeriesCap); nil: no cap.
	SeriesCap *auth.SeriesCap
	// ReadLimiter limits the public read API per client address (Public); nil: no limit.
	ReadLimiter *ratelimit.Limiter
	Geo         Geo // optional
	// Control is the engine's control handler, mounted for authenticated probes; optional.
	Control http.Handler
	// AdminToken guards admin endpoints; empty disables them.
	AdminToken  string
	BodyBytes   int64 // request body cap, on the wire and decompressed
	BatchItems  int   // measurements per request
	QueryLimit  int   // largest page of the query API
	MaxInFlight int   // concurrent storage writes
	// BackdateSlack: a measurement that started more than this before its probe's token
	// was issued is refused (docs/auth.md, Backdating); auth.DefaultBackdateSlack when zero.
	BackdateSlack time.Duration
	// TrustProxy takes the source address from X-Forwarded-For (behind a reverse proxy).
	TrustProxy bool
	// SchedulesDir holds the schedule set served at /api/v1/schedules; empty: none.
	SchedulesDir string
	// ExtraMetrics, when set, appends more metrics (reports, alerts) to /metrics in the
	// Prometheus text format.
	ExtraMetrics func(w io.Writer)
	Now          func() time.Time
	// Fleet serves GET /api/v1/probes and Enrol POST /api/v1/enrol (fleet.go); nil: not served.
	Fleet *fleet.Fleet
	Enrol *Enrol
}

// Server serves the collector's API.
type Server struct {
	o       Options
	log     *slog.Logger
	metrics *metrics
	sem     chan struct{}
	mux     *http.ServeMux
}

// New returns a Server. A nil log discards.
func New(o Options, log *slog.Logger) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.BodyBytes <= 0 {
		o.BodyBytes = DefaultBodyBytes
	}
	if o.BatchItems <= 0 {
		o.BatchItems = DefaultBatchItems
	}
	if o.QueryLimit <= 0 || o.QueryLimit > store.MaxLimit {
		o.QueryLimit = store.MaxLimit
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.BackdateSlack <= 0 {
		o.BackdateSlack = auth.DefaultBackdateSlack
	}
	s := &Server{o: o, log: log, metrics: newMetrics(), sem: make(chan struct{}, o.MaxInFlight), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s.metrics.serve(w, r)
		s.writeSeriesMetrics(w)
		if o.ExtraMetrics != nil {
			o.ExtraMetrics(w)
		}
	})
	s.mux.HandleFunc("POST /api/v1/measurements", s.ingest)
	s.mux.Handle("GET /api/v1/measurements", s.Public(http.HandlerFunc(s.query)))
	s.mux.HandleFunc("POST /api/v1/heartbeats", s.heartbeat)
	s.mux.HandleFunc("GET /api/v1/schedules", s.schedules)
	s.routeFleet()
	if o.Control != nil {
		s.mux.Handle("/api/v1/control", s.probeOnly(o.Control))
	}
	return s
}

// Handle mounts another handler (schedules, dashboard) on the server's mux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ready answers whether storage answers. The reason of a failure is logged, not
// answered: it names InfluxDB's internal address, and /readyz is public.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.o.Store.Ready(ctx); err != nil {
		s.log.Warn("readiness: storage does not answer", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "storage unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// probeOnly lets only probes with a valid token through.
func (s *Server) probeOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authenticate(w, r); ok {
			h.ServeHTTP(w, r)
		}
	})
}

// authenticate verifies the bearer token and the probe's rate; on failure it answers.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (auth.Claims, bool) {
	tok, err := auth.BearerToken(r)
	if err == nil {
		var c auth.Claims
		if c, err = s.o.Verifier.Verify(tok, s.o.Now()); err == nil {
			if ok, wait := s.o.Limiter.Allow(c.Probe, s.o.Now()); !ok {
				s.metrics.rateLimited.Add(1)
				w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
				writeError(w, http.StatusTooManyRequests, "rate limit exceeded for probe "+c.Probe)
				return c, false
			}
			return c, true
		}
	}
	s.metrics.unauthorized.Add(1)
	auth.RefuseUnread(w) // the body of a stranger is not read
	w.Header().Set("WWW-Authenticate", `Bearer realm="pantau"`)
	writeError(w, http.StatusUnauthorized, err.Error())
	return auth.Claims{}, false
}

// identity is the identity a probe's token gives what it submits.
func identity(c auth.Claims) store.Identity {
	return store.Identity{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
