package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pantau-dev/pantau/collector/fleet"
)

// ProbeLister lists the fleet's probes (collector/fleet's Fleet).
type ProbeLister interface {
	List(ctx context.Context) (fleet.List, error)
	Config() fleet.Config
}

// Option adds an optional part to the dashboard.
type Option func(*dash)

// WithProbes adds the Probes page (/probes), public when the fleet's config says so,
// otherwise for the admin's session only.
func WithProbes(l ProbeLister) Option { return func(h *dash) { h.probes = l } }

// WithSimulated marks every page as showing simulated data, with notice saying what the
// data set is (`collector demo`).
func WithSimulated(notice string) Option { return func(h *dash) { h.simulated = notice } }

// WithFrameAncestors lets the listed origins (or 'self') frame the embed view (/embed):
// its Content-Security-Policy's frame-ancestors. Without it, no page may be framed.
func WithFrameAncestors(origins []string) Option {
	return func(h *dash) { h.frameAncestors = origins }
}

// probesData is what the Probes page shows.
type probesData struct {
	List   fleet.List
	Shown  []fleet.Probe
	Query  fleet.Query
	Sorts  []string
	States []string
	Counts map[string]int // per state, of the whole fleet
}

// probesPage shows every probe with its state, filtered and sorted by the query
// (fleet.ParseQuery), to the admin or, with probes.public, to anyone.
func (h *dash) probesPage(w http.ResponseWriter, r *http.Request) {
	if h.probes == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	if !h.probes.Config().Public {
		if h.admin == nil {
			h.fail(w, r, http.StatusNotFound, "the probe list is for the admin, and admin is disabled (or set probes.public)")
			return
		}
		if _, ok := h.admin.session(r); !ok {
			http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
			return
		}
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	for _, k := range []string{"format", "lang", "tz"} {
		v.Del(k) // the page's own parameters, not the fleet's
	}
	var q fleet.Query
	if err == nil {
		q, err = fleet.ParseQuery(v)
	}
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	l, err := h.probes.List(r.Context())
	if err != nil {
		h.failErr(w, r, "probe list", err)
		return
	}
	d := probesData{List: l, Shown: q.Apply(l.Probes), Query: q, Sorts: fleet.SortKeys(),
		States: []string{fleet.OK, fleet.Late, fleet.Silent, fleet.Outdated}, Counts: map[string]int{}}
	for _, p := range l.Probes {
		d.Counts[p.State]++
	}
	switch f := r.URL.Query().Get("format"); f {
	case "csv", "json":
		writeProbes(w, f, d.Shown)
		return
	case "":
	default:
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("format: %q is not csv or json", f))
		return
	}
	loc, _ := h.locale(r)
	h.render(w, r, http.StatusOK, "probes", page{Title: loc.T("nav.probes"), Nav: "probes", Data: d, L: loc})
}

// writeProbes writes the probes shown as CSV or JSON.
func writeProbes(w http.ResponseWriter, format string, ps []fleet.Probe) {
	if format == "json" {
		attach(w, "application/json", "probes.json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ps)
		return
	}
	attach(w, "text/csv; charset=utf-8", "probes.csv")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"probe", "source", "state", "network", "asn", "country", "version", "last_heartbeat", "schedules_hash", "spool_depth", "dropped", "clock_offset_ms"})
	for _, p := range ps {
		_ = cw.Write([]string{p.Probe, sourceOf(p.Probe), p.State, p.Network, asnText(p.ASN), p.Country, p.Version, fmtTime(p.LastHeartbeat), p.SchedulesHash,
			strconv.FormatInt(p.SpoolDepth, 10), strconv.FormatInt(p.Dropped, 10), strconv.FormatFloat(p.ClockOffsetMS, 'f', 0, 64)})
	}
	cw.Flush()
}
