package cli_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

var (
	jul14 = time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)
	hour  = time.Hour
)

func at(h time.Duration) time.Time { return jul14.Add(h) }

func fptr(f float64) *float64     { return &f }
func tptr(t time.Time) *time.Time { return &t }

// sampleTimelines are t.me on two networks: Telkomsel blocks it by DNS after a gap in
// coverage; Indosat has not confirmed any state yet.
func sampleTimelines() []timeline.Timeline {
	return []timeline.Timeline{{
		Domain: "t.me", Network: "Telkomsel", From: at(-24 * hour), To: at(48 * hour), Current: timeline.Blocked,
		Periods: []timeline.Period{
			{State: timeline.Accessible, Since: at(-24 * hour), Confirmed: at(-23 * hour), FirstSeen: at(-24 * hour), LastSeen: at(2 * hour),
				Until: at(3 * hour), Measurements: 96, Probes: 2},
			{State: timeline.Blocked, Method: "dns", Since: at(3 * hour), Confirmed: at(3*hour + 30*time.Minute), FirstSeen: at(3 * hour),
				LastSeen: at(47*hour + 45*time.Minute), Until: at(48 * hour), Measurements: 170, Disagreeing: 2, Probes: 2},
		},
		Transitions: []timeline.Transition{
			{Domain: "t.me", Network: "Telkomsel", From: timeline.Unknown, To: timeline.Accessible, At: at(-24 * hour), Confirmed: at(-23 * hour)},
			{Domain: "t.me", Network: "Telkomsel", From: timeline.Accessible, To: timeline.Blocked, Method: "dns", At: at(3 * hour), Confirmed: at(3*hour + 30*time.Minute)},
		},
		Gaps:         []timeline.Gap{{From: at(10 * hour), To: at(12*hour + 15*time.Minute), Reason: timeline.GapNoHeartbeat}},
		Measurements: 268, Probes: 2,
	}, {
		Domain: "t.me", Network: "Indosat Ooredoo", From: at(-24 * hour), To: at(48 * hour), Current: timeline.Unknown,
		Gaps:         []timeline.Gap{{From: at(-24 * hour), To: at(48 * hour), Reason: timeline.GapNoMeasurement}},
		Measurements: 0,
	}}
}

func sampleReport() orders.Report {
	o := orders.Order{ID: "kominfo-2017-telegram-block", Title: "Telegram web block", Authority: "Kominfo",
		Reference: "press release 84/HM/KOMINFO/07/2017", Domains: []string{"t.me", "web.telegram.org"}, Expect: timeline.Blocked,
		Effective: jul14, Grace: 72 * hour, Networks: []string{"Telkomsel", "Indosat Ooredoo"}}
	counter := []timeline.Obs{{At: at(50 * hour), ID: "m-1", Probe: "jkt-telkomsel-01", Network: "Telkomsel", Domain: "web.telegram.org", Status: timeline.Accessible}}
	return orders.Report{Order: o, At: at(30 * 24 * hour), Status: orders.NonCompliant, Networks: []orders.NetworkReport{
		{Network: "Telkomsel", Status: orders.Compliant, TimeToEffectS: fptr((27*hour + 30*time.Minute).Seconds()), Share: 0.995, Consistent: 2189, Measurements: 2200,
			Counter: counter, CounterTotal: 11, Domains: []orders.DomainReport{
				{Domain: "t.me", Status: orders.Compliant, Current: timeline.Blocked, Effect: tptr(at(3*hour + 30*time.Minute)),
					TimeToEffectS: fptr((3*hour + 30*time.Minute).Seconds()), Share: 1, Consistent: 1100, Measurements: 1100},
				{Domain: "web.telegram.org", Status: orders.Compliant, Current: timeline.Blocked, Effect: tptr(at(27*hour + 30*time.Minute)),
					TimeToEffectS: fptr((27*hour + 30*time.Minute).Seconds()), Share: 0.99, Consistent: 1089, Measurements: 1100,
					Counter: counter, CounterTotal: 11, Gaps: 1},
			}},
		{Network: "Indosat Ooredoo", Status: orders.NonCompliant, Share: 0.25, Consistent: 1, Measurements: 4, CounterTotal: 3, Domains: []orders.DomainReport{
			{Domain: "t.me", Status: orders.NonCompliant, Current: timeline.Accessible, Share: 0.25, Consistent: 1, Measurements: 4, CounterTotal: 3},
			{Domain: "web.telegram.org", Status: orders.Unknown, Current: timeline.Unknown, Gaps: 2},
		}},
	}}
}

// fakeAPI is a collector API on 127.0.0.1 answering with marshalled timeline and orders values.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string // path?query of each request
}

const sampleCSV = "domain,network,state\nt.me,Telkomsel,blocked\n"

func newAPI(t *testing.T) *fakeAPI {
	a := &fakeAPI{}
	reply := func(w http.ResponseWriter, r *http.Request, v any) {
		if r.URL.Query().Get("format") == "csv" {
			w.Header().Set("Content-Type", "text/csv")
			w.Write([]byte(sampleCSV))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/timeline", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("domain") == "bad..name" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"domain: \"bad..name\" is not a domain name"}`))
			return
		}
		reply(w, r, map[string]any{"timelines": sampleTimelines()})
	})
	mux.HandleFunc("GET /api/v1/changes", func(w http.ResponseWriter, r *http.Request) {
		var ch []timeline.Transition
		for _, tl := range sampleTimelines() {
			ch = append(ch, tl.Transitions...)
		}
		reply(w, r, map[string]any{"changes": ch})
	})
	mux.HandleFunc("GET /api/v1/orders/{id}/compliance", func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); id != "kominfo-2017-telegram-block" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"order ` + id + `: not found"}`))
			return
		}
		reply(w, r, sampleReport())
	})
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.calls = append(a.calls, r.URL.RequestURI())
		a.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeAPI) lastCall() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) == 0 {
		return ""
	}
	return a.calls[len(a.calls)-1]
}

func TestQueryTables(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct {
		name string
		args []string
		call string
		want string
	}{
		{"timeline", []string{"timeline", "--domain", "t.me", "--from", "2017-07-13", "--to", "2017-07-16T00:00:00Z"},
			"/api/v1/timeline?domain=t.me&from=2017-07-13T00%3A00%3A00Z&to=2017-07-16T00%3A00%3A00Z", `
NETWORK          STATE       METHOD          SINCE             UNTIL             FIRST SEEN        LAST SEEN         MEASUREMENTS  PROBES
Telkomsel        accessible  -               2017-07-13 00:00  2017-07-14 03:00  2017-07-13 00:00  2017-07-14 02:00  96            2
Telkomsel        blocked     dns             2017-07-14 03:00  2017-07-16 00:00  2017-07-14 03:00  2017-07-15 23:45  170           2
Telkomsel        gap         no heartbeat    2017-07-14 10:00  2017-07-14 12:15  -                 -                 -             -
Indosat Ooredoo  gap         no measurement  2017-07-13 00:00  2017-07-16 00:00  -                 -                 -             -
`},
		{"changes", []string{"changes", "--since", "2017-07-01T00:00:00+07:00"},
			"/api/v1/changes?since=2017-06-30T17%3A00%3A00Z", `
CONFIRMED         DOMAIN  NETWORK    FROM        TO          METHOD  SINCE
2017-07-13 01:00  t.me    Telkomsel  unknown     accessible  -       2017-07-13 00:00
2017-07-14 03:30  t.me    Telkomsel  accessible  blocked     dns     2017-07-14 03:00
`},
		{"compliance", []string{"compliance", "--order", "kominfo-2017-telegram-block", "--at", "2017-08-13"},
			"/api/v1/orders/kominfo-2017-telegram-block/compliance?at=2017-08-13T00%3A00%3A00Z", `
order kominfo-2017-telegram-block (Telegram web block): Kominfo, press release 84/HM/KOMINFO/07/2017
expects blocked from 2017-07-14 00:00 UTC, grace 3d; status at 2017-08-13 00:00 UTC: non-compliant

NETWORK          DOMAIN            STATUS         TIME TO EFFECT  SHARE               CURRENT     COUNTER-EVIDENCE  GAPS
Telkomsel        all               compliant      1d3h30m         99.5% (2189/2200)   -           11                -
Telkomsel        t.me              compliant      3h30m           100.0% (1100/1100)  blocked     0                 0
Telkomsel        web.telegram.org  compliant      1d3h30m         99.0% (1089/1100)   blocked     11                1
Indosat Ooredoo  all               non-compliant  -               25.0% (1/4)         -           3                 -
Indosat Ooredoo  t.me              non-compliant  -               25.0% (1/4)         accessible  3                 0
Indosat Ooredoo  web.telegram.org  unknown        -               -                   unknown     0                 2
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, env(nil), append([]string{"query", tc.args[0], "--url", a.URL}, tc.args[1:]...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if got := a.lastCall(); got != tc.call {
				t.Errorf("request %s, want %s", got, tc.call)
			}
			if out != tc.want[1:] {
				t.Errorf("output\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
}

func TestQueryFormats(t *testing.T) {
	a := newAPI(t)
	getenv := env(map[string]string{"PANTAU_COLLECTOR": a.URL + "/"})
	want, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, getenv, "query", "compliance", "--order", "kominfo-2017-telegram-block", "--format", "json")
	if code != 0 || errOut != "" || out != string(want)+"\n" {
		t.Errorf("json: exit %d, stderr %q, stdout %s", code, errOut, out)
	}
	if c := a.lastCall(); c != "/api/v1/orders/kominfo-2017-telegram-block/compliance?format=json" {
		t.Errorf("json: request %s", c)
	}
	code, out, errOut = run(t, getenv, "query", "timeline", "--domain", "t.me", "--network", "Indosat Ooredoo", "--format", "csv",
		"--from", "2017-07-13T07:00:00+07:00", "--to", "2017-07-14")
	if code != 0 || errOut != "" || out != sampleCSV {
		t.Errorf("csv: exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	if c := a.lastCall(); c != "/api/v1/timeline?domain=t.me&format=csv&from=2017-07-13T00%3A00%3A00Z&network=Indosat+Ooredoo&to=2017-07-14T00%3A00%3A00Z" {
		t.Errorf("csv: request %s", c)
	}
}

func TestQueryErrors(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", nil, 2, queryHelp},
		{"bad subcommand", []string{"orders"}, 2, "collector query: unknown command \"orders\"\n" + queryHelp},
		{"no domain", []string{"timeline", "--url", a.URL}, 2, "collector query timeline: --domain is required\n"},
		{"no order", []string{"compliance", "--url", a.URL}, 2, "collector query compliance: --order is required\n"},
		{"format", []string{"changes", "--url", a.URL, "--format", "xml"}, 2, `collector query changes: --format "xml": want table, json or csv` + "\n"},
		{"time", []string{"changes", "--url", a.URL, "--since", "yesterday"}, 2,
			`collector query changes: --since: "yesterday" is not a time (want e.g. 2017-07-14T00:00:00Z, 2017-07-14, 7d or 36h)` + "\n"},
		{"flag of another subcommand", []string{"changes", "--url", a.URL, "--order", "x"}, 2,
			"collector query changes: flag provided but not defined: -order\nusage: collector query changes [--since T] [--to T] [flags]\n" +
				"Run 'collector query changes --help' for the flags and examples.\n"},
		{"url", []string{"changes", "--url", "127.0.0.1:8080"}, 2,
			`collector query changes: --url "127.0.0.1:8080": want the collector's http(s) URL, e.g. http://127.0.0.1:8080` + "\n"},
		{"bad request", []string{"timeline", "--url", a.URL, "--domain", "bad..name"}, 2,
			`collector query timeline: domain: "bad..name" is not a domain name` + "\n"},
		{"not found", []string{"compliance", "--url", a.URL, "--order", "nope"}, 1,
			"collector query compliance: /api/v1/orders/nope/compliance: 404 Not Found: order nope: not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, env(nil), append([]string{"query"}, tc.args...)...)
			if code != tc.code || errOut != tc.want || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr %q", code, errOut, out, tc.code, tc.want)
			}
		})
	}
}

func TestQueryUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, _, errOut := run(t, env(map[string]string{"PANTAU_COLLECTOR": "http://" + addr}), "query", "changes")
	if want := "collector query changes: http://" + addr + "/api/v1/changes?since="; code != 1 || !strings.HasPrefix(errOut, want) ||
		!strings.HasSuffix(errOut, ": connect: connection refused\n") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// The collector fixture: measurements of two names every 30 minutes by three probes on two
// networks, 12 to 18 July 2017 (probe i measures t.me at :0i and :3i, web.telegram.org ten
// minutes later), and heartbeats between them. Telkomsel blocks both names by DNS from 14 July
// 03:00; Indosat Ooredoo blocks web.telegram.org over HTTP from 06:00, never t.me.
var (
	fxStart  = time.Date(2017, 7, 12, 0, 0, 0, 0, time.UTC)
	fxEnd    = time.Date(2017, 7, 18, 0, 0, 0, 0, time.UTC)
	fxProbes = []store.Identity{
		{Probe: "tsel-1", Network: "Telkomsel", Country: "ID", ASN: 23693},
		{Probe: "tsel-2", Network: "Telkomsel", Country: "ID", ASN: 23693},
		{Probe: "isat-1", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761},
	}
)

const fxOrder = `id: test-telegram
authority: Kominfo
reference: test
domains: [t.me, web.telegram.org]
expect: blocked
effective: 2017-07-14T00:00:00Z
grace: 24h
networks: [Telkomsel, Indosat Ooredoo]
`

func fxVerdict(network, domain string, at time.Time) (string, string) {
	switch {
	case network == "Telkomsel" && !at.Before(jul14.Add(3*hour)):
		return "blocked", "dns"
	case network == "Indosat Ooredoo" && domain == "web.telegram.org" && !at.Before(jul14.Add(6*hour)):
		return "blocked", "http"
	}
	return "accessible", ""
}

// reportAPI serves the report API of a real store over the fixture.
func reportAPI(t *testing.T) string {
	url, _ := influxtest.Server(t)
	st, err := store.New(store.Config{URL: url, Bucket: influxtest.NewBucket(t), Timeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var items []store.Item
	for at := fxStart; at.Before(fxEnd); at = at.Add(30 * time.Minute) {
		for i, p := range fxProbes {
			if err := st.WriteHeartbeat(ctx, store.HeartbeatItem{H: &measurement.Heartbeat{SentAt: at.Add(15 * time.Minute)},
				Probe: p, ReceivedAt: at.Add(15 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			for j, d := range []string{"t.me", "web.telegram.org"} {
				m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + d + "/", Kind: "web",
					Domain: d, Port: 443, StartedAt: at.Add(time.Duration(i+10*j) * time.Minute), RuntimeMS: 100,
					Software: measurement.Software{Name: "pantau", Version: "test"}}
				m.Verdict.Status, m.Verdict.Method = fxVerdict(p.Network, d, m.StartedAt)
				items = append(items, store.Item{M: m, Probe: p, ReceivedAt: m.StartedAt.Add(time.Minute)})
			}
		}
	}
	if err := st.Write(ctx, items); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test-telegram.yaml"), []byte(fxOrder), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := report.New(report.Config{Source: st, OrdersDir: dir, Now: func() time.Time { return fxEnd }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler(""))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestQueryCollector(t *testing.T) {
	getenv := env(map[string]string{"PANTAU_COLLECTOR": reportAPI(t)})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"timeline", "--domain", "t.me", "--from", "2017-07-12", "--to", "2017-07-18"}, `
NETWORK          STATE       METHOD  SINCE             UNTIL             FIRST SEEN        LAST SEEN         MEASUREMENTS  PROBES
Indosat Ooredoo  accessible  -       2017-07-12 00:02  2017-07-18 00:00  2017-07-12 00:02  2017-07-17 23:32  288           1
Telkomsel        accessible  -       2017-07-12 00:00  2017-07-14 03:00  2017-07-12 00:00  2017-07-14 02:31  204           2
Telkomsel        blocked     dns     2017-07-14 03:00  2017-07-18 00:00  2017-07-14 03:00  2017-07-17 23:31  372           2
`},
		{[]string{"changes", "--since", "2017-07-13", "--to", "2017-07-18"}, `
CONFIRMED         DOMAIN            NETWORK          FROM        TO       METHOD  SINCE
2017-07-14 03:30  t.me              Telkomsel        accessible  blocked  dns     2017-07-14 03:00
2017-07-14 03:40  web.telegram.org  Telkomsel        accessible  blocked  dns     2017-07-14 03:10
2017-07-14 07:12  web.telegram.org  Indosat Ooredoo  accessible  blocked  http    2017-07-14 06:12
`},
		{[]string{"compliance", "--order", "test-telegram", "--at", "2017-07-18"}, `
order test-telegram: Kominfo, test
expects blocked from 2017-07-14 00:00 UTC, grace 1d; status at 2017-07-18 00:00 UTC: non-compliant

NETWORK          DOMAIN            STATUS         TIME TO EFFECT  SHARE             CURRENT     COUNTER-EVIDENCE  GAPS
Telkomsel        all               compliant      3h10m           100.0% (576/576)  -           0                 -
Telkomsel        t.me              compliant      3h              100.0% (288/288)  blocked     0                 0
Telkomsel        web.telegram.org  compliant      3h10m           100.0% (288/288)  blocked     0                 0
Indosat Ooredoo  all               non-compliant  -               50.0% (144/288)   -           144               -
Indosat Ooredoo  t.me              non-compliant  -               0.0% (0/144)      accessible  144               0
Indosat Ooredoo  web.telegram.org  compliant      6h12m           100.0% (144/144)  blocked     0                 0
`},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			code, out, errOut := run(t, getenv, append([]string{"query"}, tc.args...)...)
			if code != 0 || errOut != "" || out != tc.want[1:] {
				t.Errorf("exit %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, tc.want[1:])
			}
		})
	}
	code, out, errOut := run(t, getenv, "query", "changes", "--since", "2017-07-13", "--to", "2017-07-18", "--format", "json")
	var v struct{ Changes []timeline.Transition }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || errOut != "" || err != nil || len(v.Changes) == 0 {
		t.Errorf("json: exit %d, stderr %q, %v, stdout %s", code, errOut, err, out)
	}
}
