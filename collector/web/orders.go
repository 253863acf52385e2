package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

type orderRow struct {
	Order  orders.Order
	Status orders.Status
	Err    string
}

// orderList lists the orders with each one's overall compliance now.
func (h *dash) orderList(w http.ResponseWriter, r *http.Request) {
	now := h.now().UTC()
	var rows []orderRow
	for _, o := range h.data.Orders() {
		row := orderRow{Order: o}
		rep, err := h.data.Compliance(r.Context(), o.ID, now)
		if err != nil {
			h.log.Warn("dashboard: compliance failed", "order", o.ID, "err", err)
			row.Err = err.Error()
		} else {
			row.Status = rep.Status
		}
		rows = append(rows, row)
	}
	h.render(w, r, http.StatusOK, "orders", page{Title: "Orders", Nav: "orders", Data: rows})
}

type orderData struct {
	Order  orders.Order
	Report orders.Report
	At     string // the at parameter as given
}

// orderPage shows one order and each network's compliance with it, at ?at= (default now).
func (h *dash) orderPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok := h.data.Order(id)
	if !ok {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("order: no order %q", id))
		return
	}
	atText := r.URL.Query().Get("at")
	at, err := parseTime("at", atText, h.now().UTC(), false)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.data.Compliance(r.Context(), id, at)
	if err != nil {
		h.failErr(w, r, "compliance", err)
		return
	}
	h.render(w, r, http.StatusOK, "order", page{Title: "Order " + o.ID, Nav: "orders", Data: orderData{Order: o, Report: rep, At: atText}})
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"time":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"timeSec":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"rfc3339":  fmtTime,
	"optTime":  optTime,
	"seconds":  seconds,
	"duration": func(d time.Duration) string { return humanDur(d) },
	"percent":  percent,
	"label":    func(c Cell, network string) string { return c.Label(network) },
	"cellHref": cellHref,
	"rawHref":  rawHref,
	"counterHref": func(o orders.Order, network, domain string, at time.Time) string {
		return cellHref(domain, network, o.Effective.Add(o.Grace), at)
	},
	"orderMapHref": orderMapHref,
	"sourceURL":    sourceURL,
	"join":         func(s []string) string { return strings.Join(s, ", ") },
	"state":        func(s timeline.State) string { return string(s) },
	"inc":          func(n int) int { return n + 1 },
	"statusText":   http.StatusText,
}

// orderMapHref is the heatmap of a domain around an order: a week before it took effect
// to three weeks after, in 6-hour cells.
func orderMapHref(o orders.Order, domain string) string {
	day := o.Effective.UTC().Truncate(24 * time.Hour)
	return "/?" + url.Values{"domain": {domain}, "from": {day.AddDate(0, 0, -7).Format(time.DateOnly)},
		"to": {day.AddDate(0, 0, 21).Format(time.DateOnly)}, "step": {"6h"}}.Encode()
}

// sourceURL is the link of an order's source, as a URL html/template takes as it is: only
// the http(s) URL that orders.SourceURL finds at its end (checked when the order was
// loaded); "" (no link) for anything else.
func sourceURL(source string) template.URL {
	return template.URL(orders.SourceURL(source))
}

func optTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// seconds writes a time-to-effect in seconds as a human duration; nil is "—" (not every
// domain has complied).
func seconds(s *float64) string {
	if s == nil {
		return "—"
	}
	return humanDur(time.Duration(math.Round(*s)) * time.Second)
}

// humanDur writes d as "3d 4h", "5h 12m", "40m", "12s"; negative durations get a minus.
func humanDur(d time.Duration) string {
	if d < 0 {
		return "−" + humanDur(-d)
	}
	days, h, m := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// percent writes a share (0..1) of n measurements; no measurements is "—".
func percent(share float64, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*share)
}

func cellHref(domain, network string, from, to time.Time) string {
	return "/cell?" + url.Values{"domain": {domain}, "network": {network}, "from": {fmtTime(from)}, "to": {fmtTime(to)}}.Encode()
}

func rawHref(domain, network, probe, id string, started time.Time) string {
	return "/raw?" + url.Values{"domain": {domain}, "network": {network}, "probe": {probe}, "id": {id}, "at": {fmtTime(started)}}.Encode()
}
