// Package web is the collector's dashboard: server-rendered pages (html/template, assets
// embedded, no CDN, works offline) that show a domain's heatmap of networks × time coloured
// by state, the measurements behind each cell, the orders and each network's compliance,
// and admin pages (order upload) behind the admin token. The pages and colours are
// documented in docs/dashboard.md.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Data answers the dashboard's questions (collector/report's Service implements it).
type Data interface {
	Timelines(ctx context.Context, q report.Query) ([]timeline.Timeline, error)
	Orders() []orders.Order
	Order(id string) (orders.Order, bool)
	Compliance(ctx context.Context, id string, at time.Time) (orders.Report, error)
	PutOrder(ctx context.Context, yaml []byte) (orders.Order, error)
}

// Lister lists stored measurements (collector/store's Store implements it).
type Lister interface {
	Measurements(ctx context.Context, f store.Filter) ([]store.StoredMeasurement, string, error)
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// dash serves the dashboard.
type dash struct {
	data  Data
	ms    Lister
	log   *slog.Logger
	pages map[string]*template.Template
	admin *admin // nil when admin is disabled
	now   func() time.Time
	// probes lists the fleet for /probes (probes.go); nil: no such page.
	probes ProbeLister
	// simulated is the notice shown on every page when the data is simulated.
	simulated string
	// frameAncestors may frame /embed/ (CSP frame-ancestors); empty: no one.
	frameAncestors []string
	bundle         *i18n.Bundle
	mu             sync.Mutex
	asns           map[string]uint32 // network → ASN, as last seen in a measurement
	summaries      summaries         // the heatmap's order reports (summaries.go)
}

// New returns the dashboard's handler. Mount it at "/": it serves the pages, /static/ and
// /admin/ (404 when adminToken is empty), and nothing under /api/.
func New(d Data, m Lister, adminToken string, log *slog.Logger, opts ...Option) http.Handler {
	return newDash(d, m, adminToken, log, time.Now, opts...)
}

func newDash(d Data, m Lister, adminToken string, log *slog.Logger, now func() time.Time, opts ...Option) http.Handler {
	h := &dash{data: d, ms: m, log: log, pages: parsePages(), now: now, bundle: newBundle(), asns: map[string]uint32{}}
	for _, o := range opts {
		o(h)
	}
	if adminToken != "" {
		h.admin = newAdmin(adminToken, now)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /cell", h.cell)
	mux.HandleFunc("GET /raw", h.raw)
	mux.HandleFunc("GET /orders", h.orderList)
	mux.HandleFunc("GET /orders/{id}", h.orderPage)
	mux.HandleFunc("GET /probes", h.probesPage)
	mux.HandleFunc("GET /heatmap.csv", h.heatmapCSV)
	mux.HandleFunc("GET /heatmap.json", h.heatmapJSON)
	mux.HandleFunc("GET /heatmap.png", h.heatmapPNG)
	mux.HandleFunc("GET /embed/{$}", h.embed)
	mux.HandleFunc("GET /embed", h.embed)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(http.FileServerFS(static))))
	mux.HandleFunc("GET /admin/login", h.loginForm)
	mux.HandleFunc("POST /admin/login", h.login)
	mux.HandleFunc("POST /admin/logout", h.logout)
	mux.HandleFunc("GET /admin/{$}", h.adminPage)
	mux.HandleFunc("POST /admin/orders", h.upload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	return secure(mux, h.frameAncestors)
}

// csp is every page's Content-Security-Policy but for frame-ancestors.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "

// secure sets the headers every answer carries: no framing, no sniffing, nothing loaded
// from anywhere but the collector itself. Only the embed view may be framed, and only by
// the configured origins (WithFrameAncestors).
func secure(next http.Handler, ancestors []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if len(ancestors) > 0 && (r.URL.Path == "/embed" || r.URL.Path == "/embed/") {
			hd.Set("Content-Security-Policy", csp+strings.Join(ancestors, " "))
		} else {
			hd.Set("Content-Security-Policy", csp+"'none'")
			hd.Set("X-Frame-Options", "DENY")
		}
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// parsePages parses each page with the shared layout. The templates are embedded, so a
// parse error is a programming error caught by every test.
func parsePages() map[string]*template.Template {
	names := []string{"home", "cell", "orders", "order", "login", "admin", "error", "probes", "embed"}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		layout := "templates/layout.html"
		if n == "embed" {
			layout = "templates/embedlayout.html"
		}
		out[n] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, layout, "templates/heatmap.html", "templates/"+n+".html"))
		out[n] = out[n].Lookup(strings.TrimPrefix(layout, "templates/"))
	}
	return out
}

// page is what every template gets: the page's own data and the layout's.
type page struct {
	Title  string
	Nav    string // the active section: "map", "orders", "probes" or "admin"
	Admin  bool   // admin is enabled
	Probes bool   // the Probes page is served
	Authed bool   // the viewer is logged in as admin
	CSRF   string // form token of the admin session
	Data   any
	// Simulated is the notice every page carries when the collector serves a simulated
	// data set (`collector demo`); empty otherwise.
	Simulated string
	// L writes the page in the reader's language and zone.
	L *loc
	// Zoned: the page shows times in the reader's zone (tz), which tz.js sets from the
	// browser's when the URL has none.
	Zoned bool
	// Zone names the zone the page's times are in, when not UTC (the footer says so).
	Zone string
}

// tr translates a message in the request's language.
func (h *dash) tr(r *http.Request, id string) string {
	l, _ := h.locale(r)
	return l.T(id)
}

// localeOr400 is the request's language and zone; a bad tz is answered with 400.
func (h *dash) localeOr400(w http.ResponseWriter, r *http.Request) (*loc, bool) {
	l, err := h.locale(r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return l, true
}

// render executes a page into a buffer first, so a template error becomes a clean 500.
func (h *dash) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Admin = h.admin != nil
	p.Simulated = h.simulated
	if p.L == nil {
		p.L, _ = h.locale(r) // a bad tz was answered by the page; here it stays UTC
	}
	if p.Zone == "" && p.Zoned && p.L.ZoneName != "UTC" {
		p.Zone = p.L.ZoneName
	}
	// The Probes page is offered where someone can see it: public, or with admin enabled.
	p.Probes = h.probes != nil && (h.admin != nil || h.probes.Config().Public)
	if h.admin != nil {
		if s, ok := h.admin.session(r); ok {
			p.Authed, p.CSRF = true, h.admin.csrf(s)
		}
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, p); err != nil {
		h.log.Error("dashboard template failed", "page", name, "err", err)
		http.Error(w, "internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language") // the language, unless ?lang= picks it
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers with the error page.
func (h *dash) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	l, _ := h.locale(r)
	h.render(w, r, status, "error", page{Title: l.T("error.title", "Status", status), Data: errorData{Status: status, Message: msg}, L: l})
}

type errorData struct {
	Status  int
	Message string
}

// failErr answers for an error from Data or the store: 400 for a bad filter, 404 for an
// unknown order, 503 when storage is unavailable, 500 otherwise (logged).
func (h *dash) failErr(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, store.ErrBadFilter):
		h.fail(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, report.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		h.fail(w, r, http.StatusServiceUnavailable, "storage unavailable: try again shortly")
		h.log.Warn("dashboard: storage unavailable", "what", what, "err", err)
	default:
		h.log.Error("dashboard: query failed", "what", what, "err", err)
		h.fail(w, r, http.StatusInternalServerError, what+" failed: "+err.Error())
	}
}
