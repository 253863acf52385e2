package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
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
	l, _ := h.locale(r)
	h.render(w, r, http.StatusOK, "orders", page{Title: l.T("nav.orders"), Nav: "orders", Data: rows, L: l})
}

type orderData struct {
	Order  orders.Order
	Report orders.Report // networks and domains worst first
	At     string        // the at parameter as given
	// Summary counts the networks by status; Open: the detail starts unfolded.
	Summary orderSummary
	Rows    int // domain rows of the detail
	// OL writes times in the order's zone (with UTC beside them).
	OL *loc
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
	at, err := parseTime("at", atText, h.now().UTC(), false, time.UTC)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.data.Compliance(r.Context(), id, at)
	if err != nil {
		h.failErr(w, r, "compliance", err)
		return
	}
	l, _ := h.locale(r)
	sortReport(&rep)
	d := orderData{Order: o, Report: rep, At: atText, Summary: summarize(rep, ""), OL: l.Order(o)}
	for _, n := range rep.Networks {
		d.Rows += len(n.Domains)
	}
	p := page{Title: l.T("order.title", "ID", o.ID), Nav: "orders", Data: d, L: l}
	if d.OL.ZoneName != "UTC" {
		p.Zone = d.OL.ZoneName
	}
	h.render(w, r, http.StatusOK, "order", p)
}

// funcs are the templates' helpers (text and times: the page's L).
var funcs = template.FuncMap{
	"rfc3339":  fmtTime,
	"cellHref": cellHref,
	"rawHref":  rawHref,
	"counterHref": func(o orders.Order, network, domain string, at time.Time) string {
		return cellHref(domain, network, o.Effective.Add(o.Grace), at)
	},
	"orderMapHref": orderMapHref,
	"sourceURL":    sourceURL,
	"join":         func(s []string) string { return strings.Join(s, ", ") },
	"inc":          func(n int) int { return n + 1 },
	"ooni":         func(probe string) bool { return sourceOf(probe) == "ooni" },
	"query":        func(v url.Values) string { return v.Encode() },
	"asn":          asnText,
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

func cellHref(domain, network string, from, to time.Time) string {
	return "/cell?" + url.Values{"domain": {domain}, "network": {network}, "from": {fmtTime(from)}, "to": {fmtTime(to)}}.Encode()
}

func rawHref(domain, network, probe, id string, started time.Time) string {
	return "/raw?" + url.Values{"domain": {domain}, "network": {network}, "probe": {probe}, "id": {id}, "at": {fmtTime(started)}}.Encode()
}
