package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
)

// Heatmap defaults: the last 30 days in 6-hour cells.
const (
	defaultSpan = 30 * 24 * time.Hour
	defaultStep = "6h"
	cellPage    = 200 // measurements per page on a cell's page
)

type homeData struct {
	Domain, From, To, Step string
	Steps                  []string
	Suggest                []string // domains of the orders, to pick from
	Map                    *heatmap // nil until a domain is given
	Legend                 []string
	// Embed is the code of an iframe showing this heatmap, when embedding is allowed.
	Embed string
	// Embedded: the embed view, whose links open outside the frame.
	Embedded bool
}

// legend lists the cell classes in the legend's order (their names and help are in the
// catalogues: state.NAME and help.NAME).
var legend = []string{"accessible", "blocked", "down", "inconclusive", "unknown", gapClass}

// home is the search form, and the heatmap once a domain is given.
func (h *dash) home(w http.ResponseWriter, r *http.Request) {
	l, ok := h.localeOr400(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := homeData{Domain: strings.TrimSpace(q.Get("domain")), Step: q.Get("step"), From: q.Get("from"), To: q.Get("to"),
		Steps: stepNames, Legend: legend, Suggest: h.suggestions()}
	if d.Step == "" {
		d.Step = defaultStep
	}
	p := page{Title: l.T("nav.heatmap"), Nav: "map", Data: &d, L: l, Zoned: true}
	if d.Domain == "" {
		h.render(w, r, http.StatusOK, "home", p)
		return
	}
	m, err := h.buildHeatmap(r.Context(), q, l)
	if err != nil {
		h.failErr(w, r, "timelines", err)
		return
	}
	d.Map, d.Step, p.Title = m, m.Step, m.Domain
	if len(h.frameAncestors) > 0 {
		d.Embed = `<iframe src="` + h.embedBase(r) + "/embed?" + m.Query.Encode() + `" width="100%" height="` + fmt.Sprint(180+40*len(m.Rows)) + `" title="Pantau: ` + m.Domain + `"></iframe>`
	}
	h.render(w, r, http.StatusOK, "home", p)
}

// embedBase is the collector's own origin as the request reached it.
func (h *dash) embedBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// suggestions are the domains named by orders, sorted.
func (h *dash) suggestions() []string {
	var out []string
	for _, o := range h.data.Orders() {
		out = append(out, o.Domains...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseTime reads a time parameter: RFC 3339, or a date (midnight in zone z; for an end,
// the midnight after it, so the day is included). Empty gives def.
func parseTime(field, v string, def time.Time, end bool, z *time.Location) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, z)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is neither a date (2006-01-02) nor an RFC 3339 time", field, v)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t.UTC(), nil
}

type cellData struct {
	Domain, Network string
	From, To        time.Time
	Items           []store.StoredMeasurement
	Counts          []statusCount // measurements per status, on this page
	Next            string        // href of the next page
	Evidence        string        // href of the evidence bundle
	Back            string        // href of the heatmap
	Query           url.Values    // the page's query, for the downloads
}

// cell lists the measurements behind one heatmap cell; with format=csv or format=json,
// the same page of measurements as a download.
func (h *dash) cell(w http.ResponseWriter, r *http.Request) {
	l, ok := h.localeOr400(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := cellData{Domain: q.Get("domain"), Network: q.Get("network")}
	for _, f := range []struct{ name, v string }{{"domain", d.Domain}, {"network", d.Network}, {"from", q.Get("from")}, {"to", q.Get("to")}} {
		if f.v == "" {
			h.fail(w, r, http.StatusBadRequest, f.name+": required")
			return
		}
	}
	format := q.Get("format")
	if format != "" && format != "csv" && format != "json" {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("format: %q is not csv or json", format))
		return
	}
	var err error
	if d.From, err = parseTime("from", q.Get("from"), time.Time{}, false, l.Zone); err == nil {
		d.To, err = parseTime("to", q.Get("to"), time.Time{}, true, l.Zone)
	}
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	items, next, err := h.ms.Measurements(r.Context(), store.Filter{Domain: d.Domain, Network: d.Network, From: d.From, To: d.To, Limit: cellPage, After: q.Get("cursor")})
	if err != nil {
		h.failErr(w, r, "measurements", err)
		return
	}
	if format != "" {
		writeMeasurements(w, format, d.Domain+"-"+d.Network+"-"+d.From.Format("20060102T1504"), items)
		return
	}
	d.Items = items
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Measurement.Verdict.Status]++
	}
	for _, s := range legend {
		if n := counts[s]; n > 0 {
			d.Counts = append(d.Counts, statusCount{s, n})
		}
	}
	base := url.Values{"domain": {d.Domain}, "network": {d.Network}, "from": {fmtTime(d.From)}, "to": {fmtTime(d.To)}}
	d.Query = url.Values{"cursor": {q.Get("cursor")}}
	for k, x := range base {
		d.Query[k] = x
	}
	if next != "" {
		v := url.Values{"cursor": {next}}
		for k, x := range base {
			v[k] = x
		}
		d.Next = "/cell?" + v.Encode()
	}
	mid := d.From.Add(d.To.Sub(d.From) / 2)
	d.Evidence = "/api/v1/evidence?" + url.Values{"domain": {d.Domain}, "network": {d.Network}, "at": {fmtTime(mid)}}.Encode()
	span := d.To.Sub(d.From)
	d.Back = "/?" + url.Values{"domain": {d.Domain}, "from": {fmtTime(d.From.Add(-15 * span))}, "to": {fmtTime(d.To.Add(15 * span))}, "step": {fmtStep(span)}}.Encode()
	if _, ok := steps[fmtStep(span)]; !ok {
		d.Back = "/?" + url.Values{"domain": {d.Domain}}.Encode()
	}
	h.render(w, r, http.StatusOK, "cell", page{Title: l.T("cell.title", "Domain", d.Domain, "Network", d.Network), Nav: "map", Data: &d, L: l, Zoned: true})
}

type statusCount struct {
	Status string
	N      int
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// rawItem is one stored measurement as the raw link returns it.
type rawItem struct {
	Probe      store.Identity `json:"probe"`
	Source     store.Geo      `json:"source"`
	ReceivedAt time.Time      `json:"received_at"`
	// Measurement is exactly what the probe submitted, byte for byte (rawJSON).
	Measurement json.RawMessage `json:"measurement"`
}

// rawJSON is the raw link's answer for sm: rawItem indented, with the measurement's JSON
// written as the probe submitted it (encoding/json would indent it anew).
func rawJSON(sm store.StoredMeasurement) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rawItem{Probe: sm.Probe, Source: sm.Geo, ReceivedAt: sm.ReceivedAt}); err != nil {
		return nil, err
	}
	const slot = "\"measurement\": null\n}\n" // the last member: keys are the only place for these bytes
	env, ok := bytes.CutSuffix(buf.Bytes(), []byte(slot))
	if !ok {
		return nil, fmt.Errorf("raw: %q does not end with the measurement", buf.Bytes())
	}
	return append(append(append(env, "\"measurement\": "...), sm.Raw...), "\n}\n"...), nil
}

// raw returns one stored measurement as JSON, found by its series (domain, network,
// probe), its start time and its ID.
func (h *dash) raw(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, f := range []string{"domain", "network", "probe", "at", "id"} {
		if q.Get(f) == "" {
			h.fail(w, r, http.StatusBadRequest, f+": required")
			return
		}
	}
	at, err := parseTime("at", q.Get("at"), time.Time{}, false, time.UTC)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	from := at.Truncate(time.Millisecond)
	items, _, err := h.ms.Measurements(r.Context(), store.Filter{Domain: q.Get("domain"), Network: q.Get("network"), Probe: q.Get("probe"),
		From: from, To: from.Add(time.Millisecond), Limit: store.MaxLimit})
	if err != nil {
		h.failErr(w, r, "measurement", err)
		return
	}
	for _, it := range items {
		if it.Measurement.ID == q.Get("id") {
			body, err := rawJSON(it)
			if err != nil {
				h.fail(w, r, http.StatusInternalServerError, err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Disposition", `inline; filename="`+it.Measurement.ID+`.json"`)
			_, _ = w.Write(body)
			return
		}
	}
	h.fail(w, r, http.StatusNotFound, fmt.Sprintf("id: no measurement %q of %s on %s by %s at %s", q.Get("id"), q.Get("domain"), q.Get("network"), q.Get("probe"), fmtTime(at)))
}
