package grafana

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	dashboardFile         = "dashboards/pantau-heatmap.json"
	influxQLDashboardFile = "dashboards/pantau-heatmap-influxql.json"
)

// dashboard is the part of Grafana's dashboard model the test checks.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      string          `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	Current    json.RawMessage `json:"current"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  *datasourceRef `json:"datasource"`
	Targets     []target       `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Mappings []struct {
				Type    string                   `json:"type"`
				Options map[string]mappingOption `json:"options"`
			} `json:"mappings"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

// mappingOption is one option of a value mapping; the options of a special mapping
// (match: "null", result: {…}) decode to zero values, TestInfluxQLDashboardStructure checks them.
type mappingOption struct {
	Color string `json:"color"`
	Text  string `json:"text"`
}

func (o *mappingOption) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	type plain mappingOption
	return json.Unmarshal(b, (*plain)(o))
}

type target struct {
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
	Query      string         `json:"query"`
	// InfluxQL targets only: a raw (hand-written) query and Grafana's result format.
	RawQuery     bool   `json:"rawQuery"`
	ResultFormat string `json:"resultFormat"`
}

func loadDashboard(t *testing.T) dashboard { return loadDashboardFile(t, dashboardFile) }

// loadDashboardFile decodes one dashboard file, failing on invalid JSON or trailing data.
func loadDashboardFile(t *testing.T, file string) dashboard {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if dec.More() {
		t.Fatalf("%s: data after the dashboard object", file)
	}
	return d
}

func (d dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "pantau-heatmap" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want uid pantau-heatmap, a title, schemaVersion ≥ 36", d.UID, d.Title, d.SchemaVersion)
	}
	for _, tc := range []struct {
		name, typ   string
		query       bool // a Flux query on the datasource
		multi, all_ bool
	}{
		{name: "datasource", typ: "datasource"},
		{name: "bucket", typ: "textbox"},
		{name: "domain", typ: "query", query: true},
		{name: "network", typ: "query", query: true, multi: true, all_: true},
	} {
		v, ok := d.variable(tc.name)
		if !ok {
			t.Errorf("template variable %s: missing", tc.name)
			continue
		}
		if v.Type != tc.typ || v.Multi != tc.multi || v.IncludeAll != tc.all_ {
			t.Errorf("variable %s: type %q multi %v includeAll %v, want %q %v %v", tc.name, v.Type, v.Multi, v.IncludeAll, tc.typ, tc.multi, tc.all_)
		}
		if tc.query && (v.Datasource == nil || *v.Datasource != (datasourceRef{"influxdb", "${datasource}"}) || !strings.Contains(v.Query, "from(bucket:")) {
			t.Errorf("variable %s: want a Flux query on datasource ${datasource}, got %+v %q", tc.name, v.Datasource, v.Query)
		}
	}
	if v, _ := d.variable("datasource"); v.Query != "influxdb" {
		t.Errorf("datasource variable: query %q, want influxdb", v.Query)
	}

	if len(d.Panels) < 3 {
		t.Fatalf("%d panels, want the heatmap, the blocked share and the last measurements", len(d.Panels))
	}
	ids := map[int]bool{}
	types := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: duplicate id %d", p.Title, p.ID)
		}
		ids[p.ID], types[p.Type] = true, true
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d targets: want ${datasource} and a target", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Datasource == nil || tg.Datasource.Type != "influxdb" || !strings.Contains(tg.Query, `r._measurement == "reach"`) {
				t.Errorf("panel %q target %q: want a refId and a Flux query of reach on an influxdb datasource, got %+v %q", p.Title, tg.RefID, tg.Datasource, tg.Query)
			}
		}
	}
	for _, want := range []string{"state-timeline", "timeseries", "table"} {
		if !types[want] {
			t.Errorf("no %s panel", want)
		}
	}

	heat := d.Panels[0]
	if heat.Type != "state-timeline" || len(heat.FieldConfig.Defaults.Mappings) != 1 {
		t.Fatalf("first panel: type %q with %d mappings, want the state-timeline heatmap with one value mapping", heat.Type, len(heat.FieldConfig.Defaults.Mappings))
	}
	opts := heat.FieldConfig.Defaults.Mappings[0].Options
	for status, colour := range map[string]string{"accessible": "green", "blocked": "red", "down": "orange", "inconclusive": "purple", "no data": "transparent"} {
		if o, ok := opts[status]; !ok || o.Color != colour || o.Text != status {
			t.Errorf("heatmap mapping %q: %+v, want colour %s", status, o, colour)
		}
	}
}

// TestProvisioning checks the provisioning examples parse and point at the datasource the
// dashboard selects by default.
func TestProvisioning(t *testing.T) {
	d := loadDashboard(t)
	v, _ := d.variable("datasource")
	var current struct{ Value string }
	if err := json.Unmarshal(v.Current, &current); err != nil || current.Value == "" {
		t.Fatalf("datasource variable: current %s: want a default value", v.Current)
	}
	files, _ := filepath.Glob("provisioning/datasources/pantau-influxdb*.yaml")
	if len(files) != 2 {
		t.Fatalf("Flux datasource examples %v: want one for InfluxDB 2.x and one for 1.8", files)
	}
	for _, f := range files {
		var c struct {
			APIVersion  int `yaml:"apiVersion"`
			Datasources []struct {
				UID      string `yaml:"uid"`
				Type     string `yaml:"type"`
				URL      string `yaml:"url"`
				JSONData struct {
					Version       string `yaml:"version"`
					Organization  string `yaml:"organization"`
					DefaultBucket string `yaml:"defaultBucket"`
				} `yaml:"jsonData"`
				SecureJSONData map[string]string `yaml:"secureJsonData"`
			} `yaml:"datasources"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.APIVersion != 1 || len(c.Datasources) != 1 {
			t.Fatalf("%s: apiVersion %d, %d datasources: want 1 and 1", f, c.APIVersion, len(c.Datasources))
		}
		ds := c.Datasources[0]
		if ds.UID != current.Value || ds.Type != "influxdb" || ds.JSONData.Version != "Flux" || ds.URL == "" ||
			ds.JSONData.DefaultBucket == "" || ds.SecureJSONData["token"] == "" {
			t.Errorf("%s: %+v: want uid %s, type influxdb, Flux, a URL, a default bucket and a token", f, ds, current.Value)
		}
	}
	var p struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	b, err := os.ReadFile("provisioning/dashboards/pantau.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &p); err != nil || len(p.Providers) != 1 || p.Providers[0].Type != "file" || p.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provider: %+v (%v): want one file provider with a path", p, err)
	}
}

// queries returns every Flux query of the dashboard by a name for messages.
func (d dashboard) queries() map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out["variable "+v.Name] = v.Query
		}
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out["panel "+p.Title+" "+tg.RefID] = tg.Query
		}
	}
	return out
}

var leftover = regexp.MustCompile(`\$\{?[A-Za-z_]|\bv\.[A-Za-z]`)

func TestSubstituteLeavesNoVariable(t *testing.T) {
	d := loadDashboard(t)
	vars := grafanaVars{bucket: "pantau/autogen", domain: "t.me", networks: []string{"a b", `q"uote`}}
	names := []string{}
	for name, q := range d.queries() {
		names = append(names, name)
		out := vars.substitute(q)
		if m := leftover.FindString(out); m != "" {
			t.Errorf("%s: %q left after substitution:\n%s", name, m, out)
		}
	}
	slices.Sort(names)
	if len(names) != 5 {
		t.Errorf("queries %q: want 2 variables and 3 panels", names)
	}
}
