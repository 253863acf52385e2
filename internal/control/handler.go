package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pantau-dev/pantau/internal/ratelimit"
	"github.com/pantau-dev/pantau/internal/target"
)

// MaxBody bounds a request body.
const MaxBody = 64 << 10

// Capacity defaults of a helper, sized for a fleet (docs/control.md, "Sizing"): an
// observation waits on the network far more than it computes (about 2 ms of CPU in
// 0.1–3 s, up to the target timeout for a site that does not answer), so slots are
// cheap and many are needed: by Little's law, slots = requests/s × seconds each. 256
// running and 4 waiting per slot hold the requests of about 20 probes at the default
// --concurrency (64 each) before any is turned away with 503.
const (
	DefaultMaxConcurrent = 256
	DefaultQueuePerSlot  = 4
)

// HandlerOptions configures NewHandler. Zero values take the defaults.
type HandlerOptions struct {
	Timeout       time.Duration // per observation (default 30s)
	CacheTTL      time.Duration // default 60s; 0 → default; negative disables the cache
	CacheEntries  int           // bound on cached observations (default 10000), evicting the oldest
	MaxConcurrent int           // observations at once (default DefaultMaxConcurrent)
	// MaxQueue bounds the observations waiting for a slot (default 4×MaxConcurrent);
	// a request that would need one more is answered 503 with Retry-After: 1. Requests
	// for an observation already running or waiting join it and are never refused.
	MaxQueue int
	Guard    func(netip.Addr) error // refuses destinations; nil allows all

	// Tokens are the accepted helper tokens ("Authorization: Bearer TOKEN"). None: no
	// authentication, every client is anonymous and the Authorization header is ignored
	// (the collector authenticates probes in front of the handler). With tokens, a
	// request with a malformed header or an unknown token is answered 401, and so is one
	// without a credential unless AllowAnonymous.
	Tokens []string
	// AllowAnonymous serves clients without a token when Tokens is set. They may then
	// hold at most half of the observations running and queued, so authenticated
	// clients always find room.
	AllowAnonymous bool
	// Rate and Burst limit each anonymous client address (IPv6 by /64): Rate requests
	// per second on average, Burst at once; past it the answer is 429 with Retry-After.
	// Authenticated clients are not limited by address. Rate or Burst <= 0: no limit.
	Rate  float64
	Burst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client
	// address; none: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	Metrics        *Metrics         // counts the refusals; nil: not exposed
	Now            func() time.Time // the rate limiter's clock; nil: time.Now
}

// handler serves the control API. See NewHandler.
type handler struct {
	obs        Observer
	o          HandlerOptions
	log        *slog.Logger
	slots      chan struct{} // one token per running observation
	maxPending int           // running plus waiting observations
	maxAnon    int           // of those, started by anonymous clients
	tokens     tokenSet
	limit      *ratelimit.Limiter
	metrics    *Metrics
	busyLogged atomic.Int64 // Busy count when "busy" was last logged, and when (Unix ns)
	busyAt     atomic.Int64

	mu          sync.Mutex // guards the fields below
	flights     map[string]*flight
	pending     int // flights running or waiting for a slot
	anonPending int // of those, started by anonymous clients
	cache       *cache
}

// NewHandler returns the control helper's handler: POST a JSON Request, get a JSON
// Response. It ignores the URL path, so it can be mounted under any prefix, and
// authenticates only when o.Tokens are given. Status codes: 200; 400 (malformed
// request), 401 (credential missing or bad, with WWW-Authenticate), 403 (IP-literal
// target refused by the Guard), 405 (not POST), 413 (body over MaxBody), 429 with
// Retry-After (an anonymous address over its rate), 500 (the Observer panicked), 503
// with Retry-After (too busy). Errors are JSON {"error": "..."}.
// Addresses in Addrs that the Guard refuses are dropped and listed in Response.Refused;
// the rest is measured (a censor's injected private address must not cost the probe its
// control).
func NewHandler(obs Observer, o HandlerOptions, log *slog.Logger) http.Handler {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = time.Minute
	}
	if o.CacheEntries <= 0 {
		o.CacheEntries = 10000
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultQueuePerSlot * o.MaxConcurrent
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = &Metrics{}
	}
	h := &handler{
		obs:        obs,
		o:          o,
		log:        logger(log),
		slots:      make(chan struct{}, o.MaxConcurrent),
		maxPending: o.MaxConcurrent + o.MaxQueue,
		tokens:     newTokenSet(o.Tokens),
		limit:      ratelimit.New(o.Rate, o.Burst, ratelimit.DefaultMaxKeys),
		metrics:    o.Metrics,
		flights:    map[string]*flight{},
		cache:      newCache(o.CacheTTL, o.CacheEntries),
	}
	h.maxAnon = h.maxPending
	if len(h.tokens) > 0 {
		h.maxAnon = max(h.maxPending/2, 1)
	}
	return h
}

// httpError is an error answered with a status code.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": fmt.Sprintf("method %s not allowed; use POST", r.Method)})
		return
	}
	anon, ok := h.admit(w, r)
	if !ok {
		return
	}
	t, addrs, refused, herr := h.parse(w, r)
	if herr != nil {
		h.log.Debug("control request refused", "status", herr.status, "error", herr.msg, "remote", r.RemoteAddr)
		writeJSON(w, herr.status, map[string]string{"error": herr.msg})
		return
	}
	key := t.String() + " " + strings.Join(addrs, ",")
	res, cached, err := h.do(r.Context(), key, t, addrs, anon)
	switch {
	case errors.Is(err, errBusy):
		h.busyWarn(t, r, anon)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	case err != nil && r.Context().Err() != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "request ended before the observation: " + err.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "observation failed"})
		return
	}
	resp := Response{MeasuredAt: res.at, Cached: cached, Refused: refused, Observations: res.obs}
	resp.Observations.Normalise()
	writeJSON(w, http.StatusOK, resp)
}

// busyWarn counts a request refused as busy and logs it, at most once a second with
// how many were refused since: a saturated helper refuses thousands a second, and the
// log must stay readable (the exact count is /metrics' busy).
func (h *handler) busyWarn(t target.Target, r *http.Request, anon bool) {
	n := h.metrics.Busy.Add(1)
	now := time.Now().UnixNano()
	last := h.busyAt.Load()
	if now-last < int64(time.Second) || !h.busyAt.CompareAndSwap(last, now) {
		return
	}
	since := n - h.busyLogged.Swap(n)
	h.log.Warn("control helper busy: requests refused with 503; raise --max-concurrent or add helpers",
		"refused_since_last_log", since, "target", t.String(), "remote", r.RemoteAddr, "anonymous", anon)
}

// admit authenticates r and limits the rate of anonymous clients. It reports whether
// the client is anonymous and whether r may go on; when it may not, it has answered.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (anon, ok bool) {
	res := anonymous
	if len(h.tokens) > 0 {
		var msg string
		res, msg = h.tokens.authenticate(r)
		if res == anonymous && !h.o.AllowAnonymous {
			msg = `authorization: missing; want "Authorization: Bearer TOKEN"`
		}
		if msg != "" {
			h.metrics.Unauthorized.Add(1)
			h.log.Debug("control request unauthorized", "error", msg, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="pantau-control"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
			return false, false
		}
	}
	if res == authenticated {
		return false, true
	}
	client := clientAddr(r, h.o.TrustedProxies)
	if allowed, wait := h.limit.Allow(ratelimit.AddrKey(client), h.o.Now()); !allowed {
		h.metrics.RateLimited.Add(1)
		h.log.Debug("control request rate limited", "client", client, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate limit exceeded for this address; retry later"})
		return true, false
	}
	return true, true
}

// parse decodes and checks the request. It returns the target, the addresses to measure
// (canonical, sorted, without duplicates) and the refused ones.
func (h *handler) parse(w http.ResponseWriter, r *http.Request) (target.Target, []string, []string, *httpError) {
	var req Request
	if herr := decode(w, r, &req); herr != nil {
		return target.Target{}, nil, nil, herr
	}
	t, err := target.Parse(req.Target)
	if err != nil {
		return target.Target{}, nil, nil, errorf(http.StatusBadRequest, "%v", err)
	}
	if len(req.Addrs) > MaxAddrs {
		return t, nil, nil, errorf(http.StatusBadRequest, "addrs: %d addresses; at most %d", len(req.Addrs), MaxAddrs)
	}
	parsed := make([]netip.Addr, len(req.Addrs))
	for i, s := range req.Addrs {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return t, nil, nil, errorf(http.StatusBadRequest, "addrs[%d]: %q is not an IP address", i, s)
		}
		parsed[i] = a.Unmap()
	}
	if h.o.Guard != nil && t.IsIP() {
		if err := h.o.Guard(netip.MustParseAddr(t.Domain)); err != nil {
			return t, nil, nil, errorf(http.StatusForbidden, "target: %v; not measured", err)
		}
	}
	var addrs, refused []string
	for i, a := range parsed {
		if h.o.Guard != nil {
			if err := h.o.Guard(a); err != nil {
				refused = append(refused, fmt.Sprintf("addrs[%d]: %v; not measured", i, err))
				continue
			}
		}
		addrs = append(addrs, a.String())
	}
	slices.Sort(addrs)
	return t, slices.Compact(addrs), refused, nil
}

// decode reads one JSON object into v, strictly, and names what is wrong.
func decode(w http.ResponseWriter, r *http.Request, v any) *httpError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errorf(http.StatusRequestEntityTooLarge, "body: larger than %d bytes", MaxBody)
		}
		return errorf(http.StatusBadRequest, "body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(http.StatusBadRequest, "body: empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return errorf(http.StatusBadRequest, "body: invalid JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ) && typ.Field == "":
			return errorf(http.StatusBadRequest, "body: got JSON %s, want an object", typ.Value)
		case errors.As(err, &typ):
			return errorf(http.StatusBadRequest, "%s: got JSON %s, want %s", typ.Field, typ.Value, typ.Type)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errorf(http.StatusBadRequest, "body: truncated JSON")
		}
		return errorf(http.StatusBadRequest, "body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "body: data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
