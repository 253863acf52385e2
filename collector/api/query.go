package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// QueryResponse answers GET /api/v1/measurements?format=json.
type QueryResponse struct {
	Measurements []QueryItem `json:"measurements"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// QueryItem is one stored measurement with the identity the collector stored it under.
type QueryItem struct {
	Probe       store.Identity          `json:"probe"`
	SourceASN   uint32                  `json:"source_asn,omitempty"`
	SourceOrg   string                  `json:"source_org,omitempty"`
	ReceivedAt  time.Time               `json:"received_at"`
	Measurement measurement.Measurement `json:"measurement"`
}

var queryParams = map[string]bool{"domain": true, "network": true, "probe": true, "from": true, "to": true, "format": true, "limit": true, "cursor": true}

// query answers GET /api/v1/measurements. Every parameter is validated before it gets
// near a query; an unknown parameter is an error too.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "query string: "+err.Error())
		return
	}
	f, format, err := s.parseQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, next, err := s.o.Store.Measurements(r.Context(), f)
	if err != nil {
		if errors.Is(err, store.ErrBadFilter) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.log.Warn("query failed", "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	if format == "csv" {
		writeCSV(w, items, next)
		return
	}
	resp := QueryResponse{Measurements: make([]QueryItem, len(items)), Next: next}
	for i, it := range items {
		resp.Measurements[i] = QueryItem{Probe: it.Probe, SourceASN: it.Geo.ASN, SourceOrg: it.Geo.Org, ReceivedAt: it.ReceivedAt, Measurement: it.Measurement}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) parseQuery(q url.Values) (store.Filter, string, error) {
	var f store.Filter
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !queryParams[k] {
			return f, "", fmt.Errorf("unknown parameter %q (want domain, network, probe, from, to, limit, cursor or format)", k)
		}
		if n := len(q[k]); n > 1 {
			return f, "", fmt.Errorf("parameter %q given %d times", k, n)
		}
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"domain", &f.Domain}, {"network", &f.Network}, {"probe", &f.Probe}} {
		v := q.Get(p.name)
		if p.name == "network" && v != "" && !store.ValidNetwork(v) {
			return f, "", fmt.Errorf("network: %q may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)", v)
		}
		if p.name == "domain" && v != "" {
			if err := store.CheckDomain(v); err != nil {
				return f, "", err
			}
		} else if p.name == "probe" && v != "" && !store.ValidProbe(v) {
			return f, "", fmt.Errorf("%s: %q %s", p.name, v, store.ProbeRule)
		}
		*p.dst = v
	}
	var err error
	if f.From, err = parseTime(q, "from"); err != nil {
		return f, "", err
	}
	if f.To, err = parseTime(q, "to"); err != nil {
		return f, "", err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, "", fmt.Errorf("from: %q is not before to %q", q.Get("from"), q.Get("to"))
	}
	f.Limit = min(100, s.o.QueryLimit)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.o.QueryLimit {
			return f, "", fmt.Errorf("limit: %q is not a number from 1 to %d", v, s.o.QueryLimit)
		}
		f.Limit = n
	}
	f.After = q.Get("cursor")
	format := q.Get("format")
	switch format {
	case "", "json":
		format = "json"
	case "csv":
	default:
		return f, "", fmt.Errorf("format: %q is not json or csv", format)
	}
	return f, format, nil
}

func parseTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time (e.g. 2017-07-20T00:00:00Z)", name, v)
	}
	return t, nil
}

// csvHeader is the CSV export's columns. source is the measurement's (ooni for one
// imported from OONI's open data; empty for the fleet's own probes).
var csvHeader = []string{"id", "started_at", "probe", "network", "asn", "country", "source_asn", "domain", "target", "kind", "status", "method", "reason", "evidence", "received_at", "source"}

func writeCSV(w http.ResponseWriter, items []store.StoredMeasurement, next string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, it := range items {
		m := it.Measurement
		// Cells through report.SafeRow: the target, reason and evidence are the probe's text.
		_ = cw.Write(report.SafeRow([]string{m.ID, m.StartedAt.UTC().Format(time.RFC3339Nano), it.Probe.Probe, it.Probe.Network,
			strconv.FormatUint(uint64(it.Probe.ASN), 10), it.Probe.Country, strconv.FormatUint(uint64(it.Geo.ASN), 10),
			m.Domain, m.Target, m.Kind, m.Verdict.Status, m.Verdict.Method, m.Verdict.Reason,
			strings.Join(m.Verdict.Evidence, "; "), it.ReceivedAt.UTC().Format(time.RFC3339Nano), m.Source}))
	}
	cw.Flush()
}
