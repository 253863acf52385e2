package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
)

// fixedFleet is a fleet of known heartbeats, classified at testNow.
type fixedFleet struct {
	beats []store.LatestBeat
	cfg   fleet.Config
}

func (f fixedFleet) List(context.Context) (fleet.List, error) {
	return fleet.Classify(f.beats, testNow, f.cfg), nil
}
func (f fixedFleet) Config() fleet.Config { return f.cfg.WithDefaults() }

func probesFleet(public bool) fixedFleet {
	b := func(probe, network, version string, ago time.Duration, sync string) store.LatestBeat {
		return store.LatestBeat{Identity: store.Identity{Probe: probe, Network: network, Country: "ID", ASN: 23693},
			At: testNow.Add(-ago), Version: version, SchedulesHash: "h-" + probe, SpoolDepth: 7, Dropped: 2, ClockOffsetMS: 31, SyncError: sync}
	}
	return fixedFleet{cfg: fleet.Config{Public: public}, beats: []store.LatestBeat{
		b("jkt-01", "Telkomsel", "v1.2.0", time.Minute, ""),
		b("sby-02", "XL Axiata", "v1.2.0", 3*time.Hour, "<script>alert(1)</script>"),
		b("mdn-03", "Indosat", "v1.1.0", time.Minute, ""),
	}}
}

func serveProbes(t *testing.T, f fixedFleet) string {
	t.Helper()
	srv := httptest.NewServer(newDash(nil, nil, adminToken, quiet(), func() time.Time { return testNow }, WithProbes(f)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProbesPage(t *testing.T) {
	base := serveProbes(t, probesFleet(false))
	c := client(t)
	if code, _ := get(t, c, base+"/probes"); code != http.StatusSeeOther {
		t.Fatalf("not logged in: HTTP %d, want a redirect to the login", code)
	}
	login(t, c, base, adminToken)
	code, page := get(t, c, base+"/probes")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", code, page)
	}
	mustContain(t, page, `<a href="/probes" aria-current="page">Probes</a>`, "3 probes: 1 ok, 0 late, 1 silent, 1 outdated.",
		`<tr data-state="silent"><td>sby-02</td><td><span class="badge p-silent">silent</span></td><td>XL Axiata</td>`,
		`<tr data-state="outdated"><td>mdn-03</td>`, `<code>h-jkt-01</code>`, "31 ms",
		"sync: &lt;script&gt;alert(1)&lt;/script&gt;", `<option value="silent">silent</option>`, `<select name="sort">`,
		"older than v1.2.0")
	if strings.Contains(page, "<script>alert") {
		t.Fatal("a sync error was not escaped")
	}
	// Worst first by default.
	if i, j := strings.Index(page, "sby-02"), strings.Index(page, "jkt-01"); i > j {
		t.Error("the silent probe is not listed before the ok one")
	}
	_, page = get(t, c, base+"/probes?state=outdated")
	if !strings.Contains(page, "mdn-03") || strings.Contains(page, "<td>jkt-01</td>") || !strings.Contains(page, `<option value="outdated" selected>`) {
		t.Errorf("state filter:\n%s", page)
	}
	_, page = get(t, c, base+"/probes?sort=probe&order=desc")
	if i, j := strings.Index(page, "<td>sby-02</td>"), strings.Index(page, "<td>jkt-01</td>"); i < 0 || i > j {
		t.Errorf("sort=probe&order=desc:\n%s", page)
	}
	if code, page := get(t, c, base+"/probes?sort=secret"); code != http.StatusBadRequest || !strings.Contains(page, "sort &#34;secret&#34;") {
		t.Errorf("bad sort: HTTP %d\n%s", code, page)
	}
}

func TestProbesPagePublic(t *testing.T) {
	base := serveProbes(t, probesFleet(true))
	code, page := get(t, client(t), base+"/probes?network=Telkomsel")
	if code != http.StatusOK || !strings.Contains(page, "<td>jkt-01</td>") || strings.Contains(page, "<td>sby-02</td>") {
		t.Fatalf("public page: HTTP %d\n%s", code, page)
	}
	// Private without admin: nobody can see it, so the menu does not offer it.
	srv0 := httptest.NewServer(newDash(nil, nil, "", quiet(), func() time.Time { return testNow }, WithProbes(probesFleet(false))))
	t.Cleanup(srv0.Close)
	if code, page := get(t, client(t), srv0.URL+"/probes"); code != http.StatusNotFound || strings.Contains(page, `href="/probes"`) {
		t.Fatalf("private, no admin: HTTP %d\n%s", code, page)
	}
	// Without the option the page does not exist, and the nav has no link to it.
	srv := httptest.NewServer(newDash(nil, nil, adminToken, quiet(), func() time.Time { return testNow }))
	t.Cleanup(srv.Close)
	code, page = get(t, client(t), srv.URL+"/probes")
	if code != http.StatusNotFound || strings.Contains(page, `href="/probes"`) {
		t.Fatalf("no fleet: HTTP %d\n%s", code, page)
	}
}
