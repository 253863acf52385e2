package web

import (
	"context"
	"net/http"
	"net/url"

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
	h.render(w, r, http.StatusOK, "probes", page{Title: "Probes", Nav: "probes", Data: d})
}
