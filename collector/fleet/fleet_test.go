package fleet

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func beat(probe, network, version string, ago time.Duration) store.LatestBeat {
	return store.LatestBeat{Identity: store.Identity{Probe: probe, Network: network, Country: "ID", ASN: 23693},
		At: now.Add(-ago), Version: version}
}

func TestClassify(t *testing.T) {
	// Default heartbeat 5m: late from 15m, silent from 1h.
	l := Classify([]store.LatestBeat{
		beat("a-ok", "Telkomsel", "v1.4.0", 4*time.Minute),
		beat("b-late", "Telkomsel", "v1.4.0", 15*time.Minute),
		beat("c-silent", "XL", "v1.4.0", time.Hour),
		beat("d-outdated", "XL", "v1.3.9", time.Minute),
		beat("e-dev", "XL", "dev", time.Minute),
		beat("f-describe", "XL", "v1.4.0-3-gabcdef", time.Minute),
		beat("g-silent-old", "XL", "v1.2.0", 2*time.Hour),
	}, now, Config{})
	got := map[string]string{}
	for _, p := range l.Probes {
		got[p.Probe] = p.State
	}
	want := map[string]string{"a-ok": OK, "b-late": Late, "c-silent": Silent, "d-outdated": Outdated, "e-dev": OK,
		"f-describe": OK, "g-silent-old": Silent}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: state %q, want %q", k, got[k], v)
		}
	}
	if l.LatestVersion != "v1.4.0" || l.LateAfter != 900 || l.SilentAfter != 3600 {
		t.Fatalf("list %+v", l)
	}
	// Thresholds follow the configured heartbeat interval.
	l = Classify([]store.LatestBeat{beat("a", "T", "v1", 4*time.Minute)}, now, Config{Heartbeat: yamlconf.Duration{Duration: time.Minute}})
	if l.Probes[0].State != Late {
		t.Fatalf("heartbeat 1m, 4m ago: %s, want late", l.Probes[0].State)
	}
}

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"v1.10.0", "v1.9.9", true}, {"1.2.3", "v1.2.2", true}, {"v1.2.3", "v1.2.3-5-gabc", false},
		{"v1.2.3-5-gabc", "v1.2.3", false}, {"v2.0.0", "dev", false}, {"dev", "v1.0.0", false},
		{"v1.0.0", "", true}, {"dev", "", false}, {"v1.2", "v1.1.0", false}, {"v1.2.x", "", false},
	} {
		if got := newerVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("newerVersion(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestQuery(t *testing.T) {
	l := Classify([]store.LatestBeat{
		beat("b", "Telkomsel", "v1.0.0", time.Minute), beat("a", "XL", "v1.0.0", 2*time.Hour),
		beat("c", "Telkomsel", "v1.0.0", 20*time.Minute),
	}, now, Config{})
	names := func(ps []Probe) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Probe)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "a,c,b"}, // by state, worst first
		{"sort=probe", "a,b,c"},
		{"sort=probe&order=desc", "c,b,a"},
		{"sort=last_heartbeat", "a,c,b"},
		{"network=Telkomsel", "c,b"},
		{"state=silent", "a"},
		{"asn=23693&sort=probe", "a,b,c"},
		{"asn=1", ""},
	} {
		v, _ := url.ParseQuery(tc.query)
		q, err := ParseQuery(v)
		if err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		if got := names(q.Apply(l.Probes)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.query, got, tc.want)
		}
	}
	for _, bad := range []string{"state=dead", "sort=secret", "order=up", "asn=x", "country=IDN", "token=x", "state=ok&state=late"} {
		v, _ := url.ParseQuery(bad)
		if _, err := ParseQuery(v); err == nil || !strings.Contains(err.Error(), strings.Split(bad, "=")[0]) {
			t.Errorf("%q: err %v, want one naming the parameter", bad, err)
		}
	}
	if !slices.Contains(SortKeys(), "clock_offset") {
		t.Fatal("sort keys")
	}
}

func TestConfigValidate(t *testing.T) {
	d := func(s string) yamlconf.Duration { v, _ := time.ParseDuration(s); return yamlconf.Duration{Duration: v} }
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{}, ""},
		{Config{LateAfter: d("2h")}, "probes.late_after"},
		{Config{Heartbeat: d("-1s")}, "probes.heartbeat"},
		{Config{Window: d("30m")}, "probes.window"},
	} {
		err := tc.c.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
}
