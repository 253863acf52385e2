package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// EnvCollector is the collector's base URL for `collector query` when --url is not given.
const EnvCollector = "PANTAU_COLLECTOR"

const defaultCollector = "http://127.0.0.1:8080"

// tableTime is how tables print times (UTC, to the minute; json and csv keep full precision).
const tableTime = "2006-01-02 15:04"

// queryCommand is `collector query`: ask a running collector's API and print a table, or
// the API's own JSON or CSV.
func queryCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:     "query",
		Summary:  "ask a running collector (--url, $" + EnvCollector + ") and print a table, or --format json|csv",
		Commands: []*cmdline.Command{queryTimelineCommand(e), queryChangesCommand(e), queryComplianceCommand(e)},
		Examples: []string{
			"collector query timeline --url https://collector.example.org --domain t.me --from 7d",
			"collector query compliance --order kominfo-2017-telegram-block --format json",
		},
	}
}

func queryTimelineCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "timeline",
		Summary: "print the confirmed states of a domain per network, and the gaps in coverage",
		Usage:   "--domain D [--network N] [--from T] [--to T] [flags]",
		Examples: []string{
			"collector query timeline --domain t.me --network Telkomsel --from 2017-07-10 --to 2017-07-20",
			"collector query timeline --domain t.me --from 7d --format csv",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var f queryFlags
			f.register(fs)
			domain := fs.String("domain", "", "the `DOMAIN` to show (required)")
			network := fs.String("network", "", "only this `NETWORK` (default: every network that measured the domain)")
			from := fs.String("from", "7d", "`START`: RFC 3339 time, date (2017-07-14) or a duration back from now (7d, 36h)")
			to := fs.String("to", "", "`END`, as --from (default: now)")
			return func(ctx context.Context, _ []string) error {
				base, q, err := f.request(e.getenv, []timeFlag{{"from", "from", *from, false}, {"to", "to", *to, true}})
				if err != nil {
					return err
				}
				if *domain == "" {
					return usageError("--domain is required")
				}
				q.Set("domain", *domain)
				if *network != "" {
					q.Set("network", *network)
				}
				return f.fetch(ctx, e.stdout, base, "/api/v1/timeline", q, func(body []byte) error {
					var v struct {
						Timelines []timeline.Timeline `json:"timelines"`
					}
					if err := json.Unmarshal(body, &v); err != nil {
						return fmt.Errorf("/api/v1/timeline: %w", err)
					}
					return timelineTable(e.stdout, v.Timelines)
				})
			}
		},
	}
}

func queryChangesCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "changes",
		Summary: "print the transitions confirmed in a time range, on every domain and network",
		Usage:   "[--since T] [--to T] [flags]",
		Examples: []string{
			"collector query changes --since 2017-08-09 --to 2017-08-20",
			"collector query changes --since 36h --format json",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var f queryFlags
			f.register(fs)
			since := fs.String("since", "24h", "confirmed since `T`: RFC 3339 time, date or a duration back from now")
			to := fs.String("to", "", "confirmed before `T`, as --since (default: now)")
			return func(ctx context.Context, _ []string) error {
				base, q, err := f.request(e.getenv, []timeFlag{{"to", "until", *to, false}, {"since", "since", *since, false}})
				if err != nil {
					return err
				}
				return f.fetch(ctx, e.stdout, base, "/api/v1/changes", q, func(body []byte) error {
					var v struct {
						Changes []timeline.Transition `json:"changes"`
					}
					if err := json.Unmarshal(body, &v); err != nil {
						return fmt.Errorf("/api/v1/changes: %w", err)
					}
					return changesTable(e.stdout, v.Changes)
				})
			}
		},
	}
}

func queryComplianceCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "compliance",
		Summary: "print an order's compliance per network and per domain",
		Usage:   "--order ID [--at T] [flags]",
		Examples: []string{
			"collector query compliance --order kominfo-2017-telegram-block",
			"collector query compliance --order kominfo-2017-telegram-unblock --at 2017-08-13 --format csv",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var f queryFlags
			f.register(fs)
			order := fs.String("order", "", "order `ID` (required)")
			at := fs.String("at", "", "compute for this time `T`, as in timeline --from (default: now)")
			return func(ctx context.Context, _ []string) error {
				base, q, err := f.request(e.getenv, []timeFlag{{"at", "at", *at, false}})
				if err != nil {
					return err
				}
				if *order == "" {
					return usageError("--order is required")
				}
				path := "/api/v1/orders/" + url.PathEscape(*order) + "/compliance"
				return f.fetch(ctx, e.stdout, base, path, q, func(body []byte) error {
					var r orders.Report
					if err := json.Unmarshal(body, &r); err != nil {
						return fmt.Errorf("%s: %w", path, err)
					}
					return complianceTable(e.stdout, r)
				})
			}
		},
	}
}

// queryFlags are the flags every query has.
type queryFlags struct {
	base, format string
	timeout      time.Duration
}

func (f *queryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.base, "url", "", "the collector's base `URL` (default $"+EnvCollector+", else "+defaultCollector+")")
	fs.StringVar(&f.format, "format", "table", "`FORMAT`: table, json or csv")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "how long to wait for the answer")
}

// timeFlag is a time flag of a query and the API parameter it sets.
type timeFlag struct {
	name, key string
	val       string
	nowIfNone bool // empty means now, sent as such (else it is left to the API)
}

// request checks the common flags and returns the collector's base URL and the query
// parameters of the format and the times, which go to the API as RFC 3339.
func (f *queryFlags) request(getenv func(string) string, times []timeFlag) (string, url.Values, error) {
	if f.format != "table" && f.format != "json" && f.format != "csv" {
		return "", nil, usageError("--format %q: want table, json or csv", f.format)
	}
	base, err := collectorURL(f.base, getenv)
	if err != nil {
		return "", nil, err
	}
	q := url.Values{}
	if f.format != "table" {
		q.Set("format", f.format)
	}
	now := time.Now()
	for _, tf := range times {
		t, err := parseWhen(tf.val, now)
		if err != nil {
			return "", nil, usageError("--%s: %v", tf.name, err)
		}
		if t.IsZero() && tf.nowIfNone {
			t = now
		}
		if !t.IsZero() {
			q.Set(tf.key, t.UTC().Format(time.RFC3339))
		}
	}
	return base, q, nil
}

// fetch gets path?q from the collector at base within --timeout, and writes the answer
// (json, csv) to stdout or hands it to table.
func (f *queryFlags) fetch(ctx context.Context, stdout io.Writer, base, path string, q url.Values, table func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	body, err := apiGet(ctx, base+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	if f.format != "table" {
		_, err := stdout.Write(body)
		return err
	}
	return table(body)
}

// collectorURL is --url, else $PANTAU_COLLECTOR, else the local default, without a
// trailing slash.
func collectorURL(flagVal string, getenv func(string) string) (string, error) {
	name, s := "--url", flagVal
	if s == "" {
		name, s = EnvCollector, getenv(EnvCollector)
	}
	if s == "" {
		s = defaultCollector
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageError("%s %q: want the collector's http(s) URL, e.g. %s", name, s, defaultCollector)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// parseWhen reads an RFC 3339 time, a date (midnight UTC), or a duration back from now
// ("36h", "7d"). Empty is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := yamlconf.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want e.g. 2017-07-14T00:00:00Z, 2017-07-14, 7d or 36h)", s)
}

// apiGet fetches u; an answer other than 200 is an error with the API's message, a usage
// error when the API found the request bad (400).
func apiGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode == http.StatusOK {
		return body, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if resp.StatusCode == http.StatusBadRequest {
		return nil, usageError("%s", msg)
	}
	return nil, fmt.Errorf("%s: %s: %s", req.URL.Path, resp.Status, msg)
}

// table writes aligned columns; "" cells print as "-".
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if c == "" {
				r[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func tfmt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(tableTime)
}

// timelineTable prints one row per period and per gap, by network, then by time.
func timelineTable(w io.Writer, tls []timeline.Timeline) error {
	var rows [][]string
	for _, tl := range tls {
		type row struct {
			at    time.Time
			cells []string
		}
		var rs []row
		for _, p := range tl.Periods {
			rs = append(rs, row{p.Since, []string{tl.Network, string(p.State), p.Method, tfmt(p.Since), tfmt(p.Until),
				tfmt(p.FirstSeen), tfmt(p.LastSeen), fmt.Sprint(p.Measurements), fmt.Sprint(p.Probes)}})
		}
		for _, g := range tl.Gaps {
			rs = append(rs, row{g.From, []string{tl.Network, "gap", strings.ReplaceAll(g.Reason, "_", " "), tfmt(g.From), tfmt(g.To), "", "", "", ""}})
		}
		slices.SortStableFunc(rs, func(a, b row) int { return a.at.Compare(b.at) })
		for _, r := range rs {
			rows = append(rows, r.cells)
		}
	}
	return table(w, []string{"NETWORK", "STATE", "METHOD", "SINCE", "UNTIL", "FIRST SEEN", "LAST SEEN", "MEASUREMENTS", "PROBES"}, rows)
}

// changesTable prints one row per confirmed transition.
func changesTable(w io.Writer, ts []timeline.Transition) error {
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, []string{tfmt(t.Confirmed), t.Domain, t.Network, string(t.From), string(t.To), t.Method, tfmt(t.At)})
	}
	return table(w, []string{"CONFIRMED", "DOMAIN", "NETWORK", "FROM", "TO", "METHOD", "SINCE"}, rows)
}

// complianceTable prints the order, its overall status, and one row per network (domain
// "all") and per network × domain.
func complianceTable(w io.Writer, r orders.Report) error {
	o := r.Order
	title := ""
	if o.Title != "" {
		title = " (" + o.Title + ")"
	}
	fmt.Fprintf(w, "order %s%s: %s, %s\n", o.ID, title, o.Authority, o.Reference)
	fmt.Fprintf(w, "expects %s from %s UTC, grace %s; status at %s UTC: %s\n\n",
		o.Expect, tfmt(o.Effective), dur(o.Grace.Seconds()), tfmt(r.At), r.Status)
	var rows [][]string
	for _, n := range r.Networks {
		rows = append(rows, []string{n.Network, "all", string(n.Status), durp(n.TimeToEffectS),
			share(n.Share, n.Consistent, n.Measurements), "", fmt.Sprint(n.CounterTotal), ""})
		for _, d := range n.Domains {
			rows = append(rows, []string{n.Network, d.Domain, string(d.Status), durp(d.TimeToEffectS),
				share(d.Share, d.Consistent, d.Measurements), string(d.Current), fmt.Sprint(d.CounterTotal), fmt.Sprint(d.Gaps)})
		}
	}
	return table(w, []string{"NETWORK", "DOMAIN", "STATUS", "TIME TO EFFECT", "SHARE", "CURRENT", "COUNTER-EVIDENCE", "GAPS"}, rows)
}

func share(s float64, consistent, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", s*100, consistent, n)
}

func durp(s *float64) string {
	if s == nil {
		return ""
	}
	return dur(*s)
}

// dur prints seconds as days, hours and minutes: "3d", "1d2h5m", "45m", "0m".
func dur(s float64) string {
	m := int64(math.Round(s / 60))
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		name string
	}{{24 * 60, "d"}, {60, "h"}, {1, "m"}} {
		if v := m / u.n; v > 0 || (u.n == 1 && b.Len() == 0) {
			fmt.Fprintf(&b, "%d%s", v, u.name)
		}
		m %= u.n
	}
	return sign + b.String()
}
