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

	"github.com/pantau-dev/pantau/collector/report"
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
	Searched               bool
	Start, End             time.Time
	Heads                  []colHead
	Rows                   []Row
	Legend                 []legendItem
}

type colHead struct {
	Label, Title string
	Span         int
}

type legendItem struct{ Class, Label, Help string }

var legend = []legendItem{
	{"accessible", "accessible", "reachable as from the control"},
	{"blocked", "blocked", "blocked on this network (method in the cell's label)"},
	{"down", "down", "down for everyone, the control included"},
	{"inconclusive", "inconclusive", "measurements could not decide"},
	{"unknown", "unknown", "measured, but no state confirmed yet"},
	{gapClass, "no coverage", "a gap: no heartbeat or no measurement"},
}

// home is the search form, and the heatmap once a domain is given.
func (h *dash) home(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := homeData{Domain: strings.TrimSpace(q.Get("domain")), Step: q.Get("step"), From: q.Get("from"), To: q.Get("to"),
		Steps: []string{"1h", "6h", "1d"}, Legend: legend, Suggest: h.suggestions()}
	if d.Step == "" {
		d.Step = defaultStep
	}
	p := page{Title: "Heatmap", Nav: "map", Data: &d}
	if d.Domain == "" {
		h.render(w, r, http.StatusOK, "home", p)
		return
	}
	d.Searched = true
	p.Title = d.Domain
	step, ok := steps[d.Step]
	if !ok {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("step: %q is not one of 1h, 6h, 1d", d.Step))
		return
	}
	now := h.now().UTC()
	to, err := parseTime("to", d.To, now.Truncate(step).Add(step), true)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	from, err := parseTime("from", d.From, to.Add(-defaultSpan), false)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	cells, err := grid(from, to, step)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.Start, d.End = cells[0].from, cells[len(cells)-1].to
	tls, err := h.data.Timelines(r.Context(), report.Query{Domain: d.Domain, From: d.Start, To: d.End})
	if err != nil {
		h.failErr(w, r, "timelines", err)
		return
	}
	d.Rows, d.Heads = rows(tls, cells), heads(cells, step)
	h.render(w, r, http.StatusOK, "home", p)
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

// parseTime reads a time parameter: RFC 3339, or a date (UTC midnight; for an end, the
// midnight after it, so the day is included). Empty gives def.
func parseTime(field, v string, def time.Time, end bool) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is neither a date (2006-01-02) nor an RFC 3339 time", field, v)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// heads groups columns under labels: days for steps under a day, else days (few) or months.
func heads(cells []interval, step time.Duration) []colHead {
	label, title := "Jan 2", "Monday 2 January 2006"
	switch {
	case step >= 24*time.Hour && len(cells) > 62:
		label, title = "Jan 2006", "January 2006"
	case step >= 24*time.Hour:
		label = "2"
	}
	var out []colHead
	for _, c := range cells {
		if n := len(out); n > 0 && out[n-1].Title == c.from.Format(title) {
			out[n-1].Span++
			continue
		}
		out = append(out, colHead{Label: c.from.Format(label), Title: c.from.Format(title), Span: 1})
	}
	return out
}

type cellData struct {
	Domain, Network string
	From, To        time.Time
	Items           []store.StoredMeasurement
	Counts          []statusCount // measurements per status, on this page
	Next            string        // href of the next page
	Evidence        string        // href of the evidence bundle
	Back            string        // href of the heatmap
}

// cell lists the measurements behind one heatmap cell.
func (h *dash) cell(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := cellData{Domain: q.Get("domain"), Network: q.Get("network")}
	for _, f := range []struct{ name, v string }{{"domain", d.Domain}, {"network", d.Network}, {"from", q.Get("from")}, {"to", q.Get("to")}} {
		if f.v == "" {
			h.fail(w, r, http.StatusBadRequest, f.name+": required")
			return
		}
	}
	var err error
	if d.From, err = parseTime("from", q.Get("from"), time.Time{}, false); err == nil {
		d.To, err = parseTime("to", q.Get("to"), time.Time{}, true)
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
	d.Items = items
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Measurement.Verdict.Status]++
	}
	for _, s := range legend {
		if n := counts[s.Class]; n > 0 {
			d.Counts = append(d.Counts, statusCount{s.Class, n})
		}
	}
	base := url.Values{"domain": {d.Domain}, "network": {d.Network}, "from": {fmtTime(d.From)}, "to": {fmtTime(d.To)}}
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
	h.render(w, r, http.StatusOK, "cell", page{Title: d.Domain + " on " + d.Network, Nav: "map", Data: &d})
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
	at, err := parseTime("at", q.Get("at"), time.Time{}, false)
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
