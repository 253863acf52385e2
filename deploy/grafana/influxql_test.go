package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/influxtest"
)

// influxQLVars are the values Grafana's InfluxQL datasource substitutes into a raw query:
// $timeFilter (time >= <from>ms and time <= <to>ms), $__interval (the panel's interval,
// e.g. 1h), a single-valued variable as is, and a multi-valued one inside a regex as its
// values regex-escaped, joined by | and, for more than one, wrapped in parentheses.
type influxQLVars struct {
	domain      string
	networks    []string
	start, stop time.Time
	interval    string
}

// grafanaRegexEscape is @grafana/data's escapeRegex.
var grafanaRegexEscape = regexp.MustCompile(`[\\^$*+?.()|[\]{}/]`)

func (g influxQLVars) substitute(q string) string {
	nets := make([]string, len(g.networks))
	for i, n := range g.networks {
		nets[i] = grafanaRegexEscape.ReplaceAllString(n, `\$0`)
	}
	network := strings.Join(nets, "|")
	if len(nets) > 1 {
		network = "(" + network + ")"
	}
	return strings.NewReplacer(
		"$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", g.start.UnixMilli(), g.stop.UnixMilli()),
		"$__interval", g.interval,
		"$domain", g.domain,
		"$network", network,
	).Replace(q)
}

func TestInfluxQLDashboardStructure(t *testing.T) {
	d := loadDashboardFile(t, influxQLDashboardFile)
	if d.UID != "pantau-heatmap-influxql" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want uid pantau-heatmap-influxql, a title, schemaVersion ≥ 36", d.UID, d.Title, d.SchemaVersion)
	}
	files, _ := filepath.Glob("dashboards/*.json")
	uids := map[string]string{}
	for _, f := range files {
		u := loadDashboardFile(t, f).UID
		if other, dup := uids[u]; dup {
			t.Errorf("%s and %s share uid %q", f, other, u)
		}
		uids[u] = f
	}
	if v, ok := d.variable("datasource"); !ok || v.Type != "datasource" || v.Query != "influxdb" {
		t.Errorf("datasource variable %+v: want type datasource of influxdb datasources", v)
	}
	for _, tc := range []struct {
		name, key string
		multi     bool
	}{{"domain", "domain", false}, {"network", "network", true}} {
		v, ok := d.variable(tc.name)
		if !ok || v.Type != "query" || v.Multi != tc.multi || v.IncludeAll != tc.multi ||
			v.Datasource == nil || *v.Datasource != (datasourceRef{"influxdb", "${datasource}"}) ||
			!strings.HasPrefix(v.Query, `SHOW TAG VALUES FROM "reach" WITH KEY = "`+tc.key+`"`) {
			t.Errorf("variable %s: %+v: want an InfluxQL SHOW TAG VALUES of %s on ${datasource}, multi and All %v", tc.name, v, tc.key, tc.multi)
		}
	}
	if len(d.Panels) != 2 || d.Panels[0].Type != "state-timeline" || d.Panels[1].Type != "table" {
		t.Fatalf("%d panels: want the state timeline and the table (no blocked share: README)", len(d.Panels))
	}
	for i, p := range d.Panels {
		if p.ID != i+1 || p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) != 1 {
			t.Errorf("panel %q: id %d, datasource %+v, %d targets: want id %d, ${datasource}, one target", p.Title, p.ID, p.Datasource, len(p.Targets), i+1)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Datasource == nil || tg.Datasource.Type != "influxdb" || !tg.RawQuery ||
				!strings.Contains(tg.Query, `FROM "reach" WHERE`) || !strings.Contains(tg.Query, "$timeFilter") || strings.Contains(tg.Query, "from(bucket") {
				t.Errorf("panel %q target %q: want a raw InfluxQL query of reach with $timeFilter, got %+v", p.Title, tg.RefID, tg)
			}
		}
	}
	if f := d.Panels[0].Targets[0].ResultFormat; f != "time_series" {
		t.Errorf("heatmap result format %q, want time_series", f)
	}
	if f := d.Panels[1].Targets[0].ResultFormat; f != "table" {
		t.Errorf("table result format %q, want table", f)
	}
	// The value mapping colours the statuses as the Flux dashboard does; a null (a window
	// without measurements, fill(null)) reads "no data" and stays transparent.
	var raw struct {
		Panels []struct {
			FieldConfig struct {
				Defaults struct {
					Mappings []struct {
						Type    string          `json:"type"`
						Options json.RawMessage `json:"options"`
					} `json:"mappings"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
		} `json:"panels"`
	}
	b, _ := os.ReadFile(influxQLDashboardFile)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var values map[string]struct{ Color, Text string }
	var special struct {
		Match  string
		Result struct{ Color, Text string }
	}
	for _, m := range raw.Panels[0].FieldConfig.Defaults.Mappings {
		switch m.Type {
		case "value":
			_ = json.Unmarshal(m.Options, &values)
		case "special":
			_ = json.Unmarshal(m.Options, &special)
		}
	}
	for status, colour := range map[string]string{"accessible": "green", "blocked": "red", "down": "orange", "inconclusive": "purple"} {
		if o := values[status]; o.Color != colour || o.Text != status {
			t.Errorf("heatmap mapping %q: %+v, want colour %s", status, o, colour)
		}
	}
	if special.Match != "null" || special.Result.Text != "no data" || special.Result.Color != "transparent" {
		t.Errorf("heatmap null mapping %+v: want null → transparent \"no data\"", special)
	}
}

func TestInfluxQLProvisioning(t *testing.T) {
	d := loadDashboardFile(t, influxQLDashboardFile)
	v, _ := d.variable("datasource")
	var current struct{ Value string }
	if err := json.Unmarshal(v.Current, &current); err != nil || current.Value == "" {
		t.Fatalf("datasource variable: current %s: want a default value", v.Current)
	}
	b, err := os.ReadFile("provisioning/datasources/pantau-influxql.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID      string            `yaml:"uid"`
			Type     string            `yaml:"type"`
			URL      string            `yaml:"url"`
			JSONData map[string]any    `yaml:"jsonData"`
			Secure   map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil || c.APIVersion != 1 || len(c.Datasources) != 1 {
		t.Fatalf("pantau-influxql.yaml: %+v (%v): want apiVersion 1 and one datasource", c, err)
	}
	ds := c.Datasources[0]
	if ds.UID != current.Value || ds.Type != "influxdb" || ds.URL == "" || ds.JSONData["version"] != "InfluxQL" ||
		ds.JSONData["dbName"] == nil || ds.JSONData["httpHeaderName1"] != "Authorization" ||
		!strings.HasPrefix(ds.Secure["httpHeaderValue1"], "Token $") {
		t.Errorf("pantau-influxql.yaml: %+v: want uid %s, influxdb in InfluxQL mode, a URL, a database, an Authorization: Token header", ds, current.Value)
	}
}

func TestInfluxQLSubstituteLeavesNoVariable(t *testing.T) {
	d := loadDashboardFile(t, influxQLDashboardFile)
	vars := influxQLVars{domain: "t.me", networks: []string{"a b", "x/y|z.(1)"}, interval: "15m"}
	qs := d.queries()
	for name, q := range qs {
		if out := vars.substitute(q); regexp.MustCompile(`\$[A-Za-z_{]`).MatchString(out) {
			t.Errorf("%s: a variable is left after substitution:\n%s", name, out)
		}
	}
	if len(qs) != 4 {
		t.Errorf("queries %q: want 2 variables and 2 panels", slices.Sorted(maps.Keys(qs)))
	}
	if got := vars.substitute(`/^$network$/`); got != `/^(a b|x\/y\|z\.\(1\))$/` {
		t.Errorf("network regex %s", got)
	}
}

// TestInfluxQLQueriesAgainstInfluxDB runs every query of the InfluxQL dashboard, substituted
// as Grafana does, on the measurements of writeFixture.
func TestInfluxQLQueriesAgainstInfluxDB(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := writeFixture(ctx, t, url, bucket)

	d := loadDashboardFile(t, influxQLDashboardFile)
	// Grafana's time range ends at a millisecond; $timeFilter includes it.
	vars := influxQLVars{domain: "t.me", start: t0, stop: t0.Add(3*time.Hour - time.Millisecond), interval: "1h",
		networks: []string{"net open", "net-blocked", "net-down"}}
	run := func(t *testing.T, name string) []influxtest.Series {
		t.Helper()
		q, ok := d.queries()[name]
		if !ok {
			t.Fatalf("no query %q in %v", name, slices.Sorted(maps.Keys(d.queries())))
		}
		return influxtest.Query(t, url, bucket, vars.substitute(q))
	}
	values := func(s []influxtest.Series) []string {
		var out []string
		for _, se := range s {
			for _, r := range se.Rows() {
				out = append(out, fmt.Sprint(r["value"]))
			}
		}
		return out
	}
	nanos := func(v any) time.Time {
		n, err := v.(json.Number).Int64()
		if err != nil {
			t.Fatalf("time %v: %v", v, err)
		}
		return time.Unix(0, n).UTC()
	}

	t.Run("domain variable", func(t *testing.T) {
		if got, want := values(run(t, "variable domain")), []string{"example.org", "t.me"}; !slices.Equal(got, want) {
			t.Errorf("domains %q, want %q", got, want)
		}
	})
	t.Run("network variable", func(t *testing.T) {
		if got, want := values(run(t, "variable network")), []string{"net open", "net-blocked", "net-down"}; !slices.Equal(got, want) {
			t.Errorf("networks %q, want %q", got, want)
		}
	})
	t.Run("heatmap", func(t *testing.T) {
		got := map[string][]string{}
		for _, se := range run(t, "panel ${domain}: verdicts by network A") {
			for _, r := range se.Rows() {
				v := "no data" // null: the panel's special mapping
				if s, ok := r["mode"].(string); ok {
					v = s
				}
				got[se.Tags["network"]] = append(got[se.Tags["network"]], fmt.Sprintf("%s %s", nanos(r["time"]).Sub(t0), v))
			}
		}
		if want := fixtureCells; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("heatmap cells\n got %v\nwant %v", got, want)
		}
	})
	t.Run("last measurements", func(t *testing.T) {
		s := run(t, "panel ${domain}: last measurements A")
		if len(s) != 1 {
			t.Fatalf("%d series, want one table", len(s))
		}
		rows := s[0].Rows()
		// 12 per probe on t.me, 8 for o1 (its gap): 12+12+8+12 = 44, newest first.
		if len(rows) != 44 {
			t.Fatalf("%d rows, want 44", len(rows))
		}
		for i, r := range rows {
			want := map[any]string{"net-blocked": "blocked", "net open": "accessible", "net-down": "down"}[r["network"]]
			if want == "" || r["status"] != want || r["reason"] != "test "+want || !strings.HasPrefix(fmt.Sprint(r["id"]), fmt.Sprint(r["probe"])+"-t.me-") {
				t.Errorf("row %d: %v: want status %s and an id of its probe", i, r, want)
			}
			if (want == "blocked") != (r["method"] == "dns") {
				t.Errorf("row %d: method %v", i, r["method"])
			}
			if i > 0 && nanos(r["time"]).After(nanos(rows[i-1]["time"])) {
				t.Errorf("row %d is newer than row %d", i, i-1)
			}
		}
		if newest := nanos(rows[0]["time"]).Sub(t0); newest < 165*time.Minute || newest >= 166*time.Minute {
			t.Errorf("newest row at %v, want the last measurement (t0+2h45m)", newest)
		}
	})
}
