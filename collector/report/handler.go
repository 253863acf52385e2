package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
)

// MaxOrderBytes bounds an uploaded order.
const MaxOrderBytes = 1 << 20

// Handler serves the report API (docs/api.md) under /api/v1: timeline, changes, orders
// (with compliance, the order bundle, and admin uploads), evidence. Mount it for "/api/v1/timeline",
// "/api/v1/changes", "/api/v1/orders", "/api/v1/orders/", "/api/v1/evidence" and
// sign.WellKnownPath (the public key evidence is signed with). Uploads
// need "Authorization: Bearer <adminToken>"; with adminToken "" they are disabled (404).
func (s *Service) Handler(adminToken string) http.Handler {
	h := &handler{s: s, token: adminToken}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/timeline", h.timeline)
	mux.HandleFunc("GET /api/v1/changes", h.changes)
	mux.HandleFunc("GET /api/v1/orders", h.orders)
	mux.HandleFunc("GET /api/v1/orders/{id}", h.order)
	mux.HandleFunc("GET /api/v1/orders/{id}/compliance", h.compliance)
	mux.HandleFunc("GET /api/v1/orders/{id}/bundle", h.bundle)
	mux.HandleFunc("GET /api/v1/evidence", h.evidence)
	mux.Handle("GET "+sign.WellKnownPath, sign.KeyHandler(s.signer))
	mux.HandleFunc("PUT /api/v1/orders/{id}", h.admin(h.put))
	mux.HandleFunc("POST /api/v1/orders", h.admin(h.put))
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

type handler struct {
	s     *Service
	token string
}

// params are a request's query parameters, checked against the ones an endpoint takes.
type params struct {
	v   url.Values
	csv bool
}

// parse refuses unknown and repeated parameters; format (json|csv) is always allowed,
// and Accept: text/csv asks for CSV when format is not given.
func parse(r *http.Request, allowed ...string) (params, error) {
	v := r.URL.Query()
	var unknown []string
	for k, vs := range v {
		if k != "format" && !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
			continue
		}
		if len(vs) > 1 {
			return params{}, fmt.Errorf("%s: given %d times", k, len(vs))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		ok := append([]string{"format"}, allowed...)
		slices.Sort(ok)
		return params{}, fmt.Errorf("%s: unknown parameter (this endpoint takes %s)", strings.Join(unknown, ", "), strings.Join(ok, ", "))
	}
	p := params{v: v}
	switch f := v.Get("format"); f {
	case "json":
	case "csv":
		p.csv = true
	case "":
		p.csv = strings.Contains(r.Header.Get("Accept"), "text/csv")
	default:
		return p, fmt.Errorf("format: %q is not json or csv", f)
	}
	return p, nil
}

// parseAt parses a request about a time: at (zero when absent) and the other
// parameters allowed.
func parseAt(r *http.Request, allowed ...string) (params, time.Time, error) {
	p, err := parse(r, append(allowed, "at")...)
	if err != nil {
		return p, time.Time{}, err
	}
	at, err := p.time("at")
	return p, at, err
}

// time reads a time parameter: RFC 3339 or Unix seconds; "" gives the zero time.
func (p params) time(name string) (time.Time, error) {
	s := p.v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 7258118400 { // 1970 to 2200
			return time.Time{}, fmt.Errorf("%s: %d is not a Unix time from 0 to 7258118400", name, n)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is neither RFC 3339 (2017-07-14T00:00:00Z) nor Unix seconds", name, s)
	}
	return t, nil
}

func (p params) times(names ...string) ([]time.Time, error) {
	out := make([]time.Time, len(names))
	for i, n := range names {
		t, err := p.time(n)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

func (h *handler) timeline(w http.ResponseWriter, r *http.Request) {
	p, err := parse(r, "domain", "network", "probe", "per", "from", "to")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ts, err := p.times("from", "to")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	q := Query{Domain: p.v.Get("domain"), Network: p.v.Get("network"), Probe: p.v.Get("probe"), From: ts[0], To: ts[1]}
	switch per := p.v.Get("per"); per {
	case "", "network":
	case "probe":
		q.PerProbe = true
	default:
		fail(w, http.StatusBadRequest, fmt.Sprintf("per: %q is not network or probe", per))
		return
	}
	tls, err := h.s.Timelines(r.Context(), q)
	if err != nil {
		h.failErr(w, err)
		return
	}
	if p.csv {
		writeCSV(w, "timeline", timelineCSV(tls))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"timelines": tls})
}

func (h *handler) changes(w http.ResponseWriter, r *http.Request) {
	p, err := parse(r, "since", "until")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ts, err := p.times("since", "until")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	trs, err := h.s.Changes(r.Context(), ts[0], ts[1])
	if err != nil {
		h.failErr(w, err)
		return
	}
	if p.csv {
		writeCSV(w, "changes", transitionsCSV(trs))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": trs})
}

func (h *handler) orders(w http.ResponseWriter, r *http.Request) {
	p, err := parse(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	list := h.s.Orders()
	if p.csv {
		writeCSV(w, "orders", ordersCSV(list))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": list})
}

func (h *handler) order(w http.ResponseWriter, r *http.Request) {
	p, err := parse(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	o, ok := h.s.Order(r.PathValue("id"))
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("order %q: not found", r.PathValue("id")))
		return
	}
	if p.csv {
		writeCSV(w, "order-"+o.ID, ordersCSV([]orders.Order{o}))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (h *handler) compliance(w http.ResponseWriter, r *http.Request) {
	p, at, err := parseAt(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.s.Compliance(r.Context(), r.PathValue("id"), at)
	if err != nil {
		h.failErr(w, err)
		return
	}
	m := sign.Meta{Kind: "compliance", Order: rep.Order.ID, At: rep.At, GeneratedAt: h.s.now()}
	name := "compliance-" + rep.Order.ID
	if p.csv {
		h.writeSignedCSV(w, name, complianceCSV(rep), m)
		return
	}
	body, err := encodeJSON(rep)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.writeSignedJSON(w, "", body, m)
}

// bundle answers an order's bundle at at (default now): a zip archive (OrderBundle).
func (h *handler) bundle(w http.ResponseWriter, r *http.Request) {
	p, at, err := parseAt(r)
	if err == nil && p.v.Has("format") {
		err = errors.New("format: the bundle is a zip archive, in one format")
	}
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	name, archive, err := h.s.OrderBundle(r.Context(), r.PathValue("id"), at)
	if err != nil {
		h.failErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(archive)
}

func (h *handler) evidence(w http.ResponseWriter, r *http.Request) {
	p, at, err := parseAt(r, "domain", "network")
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if at.IsZero() {
		fail(w, http.StatusBadRequest, "at: required")
		return
	}
	b, err := h.s.Evidence(r.Context(), p.v.Get("domain"), p.v.Get("network"), at)
	if err != nil {
		h.failErr(w, err)
		return
	}
	name := fmt.Sprintf("evidence-%s-%s-%s", b.Domain, strings.ReplaceAll(b.Network, " ", "_"), b.At.UTC().Format("20060102T150405Z"))
	m := sign.Meta{Kind: "evidence", Domain: b.Domain, Network: b.Network, At: b.At, GeneratedAt: b.GeneratedAt}
	if p.csv {
		h.writeSignedCSV(w, name, evidenceCSV(b), m)
		return
	}
	body, err := b.JSON()
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.writeSignedJSON(w, name, body, m)
}

// admin checks the bearer token (constant time) before next.
func (h *handler) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.token == "" {
			fail(w, http.StatusNotFound, "admin API disabled: no admin token is configured")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			auth.RefuseUnread(w)
			w.Header().Set("WWW-Authenticate", `Bearer realm="pantau-admin"`)
			fail(w, http.StatusUnauthorized, "authorization: a bearer token is required")
			return
		}
		if !auth.AdminTokenEqual(got, h.token) {
			auth.RefuseUnread(w)
			fail(w, http.StatusForbidden, "authorization: wrong admin token")
			return
		}
		next(w, r)
	}
}

// put stores an uploaded order: PUT /api/v1/orders/{id} creates or replaces it (the id
// must match the YAML's), POST /api/v1/orders creates it (409 if the id exists).
func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	if _, err := parse(r); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOrderBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than %d bytes", MaxOrderBytes))
			return
		}
		fail(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	o, err := h.s.putOrder(body, r.PathValue("id"), r.Method == http.MethodPost)
	switch {
	case errors.Is(err, ErrBadOrder):
		fail(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, errExists):
		fail(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrUploadsDisabled):
		fail(w, http.StatusForbidden, err.Error())
	case err != nil:
		h.failErr(w, err)
	default:
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusCreated
			w.Header().Set("Location", "/api/v1/orders/"+o.ID)
		}
		writeJSON(w, code, o)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // raw measurements are served exactly as stored
	_ = enc.Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// failErr answers a Service error: 400 bad query, 404 unknown order, 503 storage
// unavailable (with Retry-After), else 500.
func (h *handler) failErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrBadFilter):
		fail(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		fail(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.s.log.Warn("report API: storage unavailable", "err", err)
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusServiceUnavailable, "storage unavailable: try again shortly")
	default:
		h.s.log.Error("report API: failed", "err", err)
		fail(w, http.StatusInternalServerError, err.Error())
	}
}
