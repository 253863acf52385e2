package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
)

// heatmapURL is the data set's heatmap in day cells.
func heatmapURL(base string) string {
	return base + "/?" + url.Values{"domain": {dsDomain}, "from": {"2017-07-10"}, "to": {"2017-07-19"}, "step": {"1d"}}.Encode()
}

var cellRE = regexp.MustCompile(`<tr data-network="([^"]+)">|<a class="cell ([^"]+)" data-state="[^"]*" data-from="([^"]+)"`)

// cellClasses returns "network date: classes" for each heatmap cell of a page.
func cellClasses(body string) []string {
	var out []string
	net := ""
	for _, m := range cellRE.FindAllStringSubmatch(body, -1) {
		if m[1] != "" {
			net = m[1]
			continue
		}
		out = append(out, net+" "+m[3][:10]+": "+m[2])
	}
	return out
}

// wantCells are the data set's day cells.
var wantCells = []string{
	"Indosat Ooredoo 2017-07-10: s-accessible",
	"Indosat Ooredoo 2017-07-11: s-accessible partial",
	"Indosat Ooredoo 2017-07-12: s-gap",
	"Indosat Ooredoo 2017-07-13: s-accessible partial",
	"Indosat Ooredoo 2017-07-14: s-accessible",
	"Indosat Ooredoo 2017-07-15: s-accessible",
	"Indosat Ooredoo 2017-07-16: s-accessible",
	"Indosat Ooredoo 2017-07-17: s-accessible",
	"Indosat Ooredoo 2017-07-18: s-accessible",
	"Indosat Ooredoo 2017-07-19: s-accessible",
	"Telkomsel 2017-07-10: s-accessible",
	"Telkomsel 2017-07-11: s-accessible",
	"Telkomsel 2017-07-12: s-accessible",
	"Telkomsel 2017-07-13: s-accessible",
	"Telkomsel 2017-07-14: s-blocked m-dns",
	"Telkomsel 2017-07-15: s-blocked m-dns",
	"Telkomsel 2017-07-16: s-blocked m-dns partial",
	"Telkomsel 2017-07-17: s-gap",
	"Telkomsel 2017-07-18: s-blocked m-dns partial",
	"Telkomsel 2017-07-19: s-blocked m-dns",
}

func TestHeatmap(t *testing.T) {
	srv, _ := serveStack(t, "")
	code, body := get(t, client(t), heatmapURL(srv.URL))
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	got := cellClasses(body)
	if strings.Join(got, "\n") != strings.Join(wantCells, "\n") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCells, "\n"))
	}
	mustContain(t, body,
		`title="Telkomsel 14 Jul 2017 00:00–24:00 UTC: blocked (dns) 1d" aria-label="Telkomsel 14 Jul 2017 00:00–24:00 UTC: blocked (dns) 1d"`,
		`title="Telkomsel 17 Jul 2017 00:00–24:00 UTC: no coverage 1d"`,
		`href="/cell?domain=t.me&amp;from=2017-07-14T00%3A00%3A00Z&amp;network=Telkomsel&amp;to=2017-07-15T00%3A00%3A00Z"`,
		`<span class="swatch s-gap" aria-hidden="true"></span> <b>no coverage</b>`,
		`<th scope="colgroup" colspan="1" class="day" data-day="2017-07-14" title="14 July 2017">14</th>`,
		`<th scope="colgroup" colspan="10" class="month" data-month="2017-07" title="July 2017">July 2017</th>`,
		`<span class="netname">Telkomsel</span> <small class="asn">AS23693</small>`,
		`<p class="summary" data-order="test-block"><b>Order test-block:</b> 1 of 2 networks complied; 1 did not: Indosat Ooredoo. <small>(as of 20 Jul 2017 00:00 UTC)</small></p>`,
		`<input type="date" name="from" value="2017-07-10">`, `<input type="date" name="to" value="2017-07-19">`,
		`<link rel="stylesheet" href="/static/style.css">`)
}

func TestHomeWithoutDomainSuggestsOrderDomains(t *testing.T) {
	srv, _ := serveStack(t, "")
	code, body := get(t, client(t), srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, `<option value="t.me">`, `<a href="/?domain=t.me">t.me</a>`, `id="legend"`)
	if strings.Contains(body, `id="heatmap"`) {
		t.Error("a heatmap without a domain")
	}
}

func TestHeatmapDefaultsToTheLast30DaysIn6HourCells(t *testing.T) {
	srv, _ := serveStack(t, "")
	_, body := get(t, client(t), srv.URL+"/?domain=t.me")
	// testNow is 20 July 00:00: cells from 20 June 06:00 (30 days before the end of the
	// cell holding now) to 20 July 06:00.
	if n := len(cellClasses(body)); n != 2*120 {
		t.Errorf("%d cells; want 240", n)
	}
	mustContain(t, body, "20 Jun 2017 06:00 UTC – 20 Jul 2017 06:00 UTC, 6h cells", `<option value="6h" selected>6 hours</option>`)
}

func TestHomeErrors(t *testing.T) {
	srv, _ := serveStack(t, "")
	tests := []struct {
		query string
		code  int
		msg   string
	}{
		{"domain=t.me&step=2h", 400, `step: &#34;2h&#34; is not one of 1h, 6h, 1d`},
		{"domain=t.me&from=yesterday", 400, `from: &#34;yesterday&#34; is neither a date (2006-01-02) nor an RFC 3339 time`},
		{"domain=t.me&from=2017-07-20&to=2017-07-10", 400, `from: 2017-07-20T00:00:00Z is not before to: 2017-07-11T00:00:00Z`},
		{"domain=t.me&from=2017-01-01&to=2017-07-01&step=1h", 200, `The range has too many 1h cells: shown in 6h cells.`},
		{"domain=t.me&from=2010-01-01&to=2027-07-01&step=1d", 400, `step: 7d over 153480h0m0s makes 914 cells (at most 800)`},
		{"domain=t.me&tz=Mars/Olympus", 400, `tz: &#34;Mars/Olympus&#34; is not a time zone name such as Asia/Jakarta`},
		{"domain=t.me%2Fx", 400, `domain: &#34;t.me/x&#34; may hold only letters, digits`},
		{"domain=nothing.example", 200, `No network measured nothing.example between`},
	}
	for _, tt := range tests {
		code, body := get(t, client(t), srv.URL+"/?"+tt.query)
		if code != tt.code || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d, want %d with %q:\n%s", tt.query, code, tt.code, tt.msg, body)
		}
	}
}

func TestCellPageListsTheMeasurements(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	code, body := get(t, c, srv.URL+cellHref(dsDomain, tsel, dsBlock, dsBlock.Add(6*time.Hour)))
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	// 6 hours of two probes measuring hourly.
	if n := strings.Count(body, `<td><span class="badge s-blocked">blocked</span></td><td>dns</td><td>dns: bogon answer 36.86.63.185 (Internet Positif)</td>`); n != 12 {
		t.Errorf("%d blocked measurements listed; want 12", n)
	}
	mustContain(t, body, "<td>14 Jul 2017 05:20:00 UTC</td><td>tsel-2</td>", "<td>14 Jul 2017 00:00:00 UTC</td><td>tsel-1</td>",
		`<span class="badge s-blocked">blocked</span> 12`,
		`href="/api/v1/evidence?at=2017-07-14T03%3A00%3A00Z&amp;domain=t.me&amp;network=Telkomsel"`)

	// The evidence bundle of the cell, from the report API.
	resp, err := c.Get(srv.URL + "/api/v1/evidence?at=2017-07-14T03%3A00%3A00Z&domain=t.me&network=Telkomsel")
	if err != nil {
		t.Fatal(err)
	}
	var bundle report.Bundle
	err = json.NewDecoder(resp.Body).Decode(&bundle)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("evidence: %d %v", resp.StatusCode, err)
	}
	if bundle.State != "blocked" || len(bundle.Items) == 0 || bundle.Items[0].Probe.Network != tsel || bundle.SHA256 == "" {
		t.Errorf("evidence: state %q, %d items, sha256 %q", bundle.State, len(bundle.Items), bundle.SHA256)
	}
	for _, it := range bundle.Items {
		inCell := !it.StartedAt.Before(dsBlock) && it.StartedAt.Before(dsBlock.Add(6*time.Hour))
		if inCell && !strings.Contains(body, "id="+it.ID) {
			t.Errorf("evidence item %s of the cell is not listed on its page", it.ID)
		}
	}

	// Each row links to the measurement's raw JSON.
	raw := regexp.MustCompile(`href="(/raw\?[^"]+)">JSON`).FindStringSubmatch(body)
	if raw == nil {
		t.Fatal("no raw link")
	}
	resp, err = c.Get(srv.URL + strings.ReplaceAll(raw[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var item struct {
		Probe       struct{ Probe, Network string }
		Measurement struct {
			Domain  string
			Verdict struct{ Status, Method string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&item); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("raw: %v (%s)", err, resp.Header.Get("Content-Type"))
	}
	if item.Probe.Network != tsel || item.Measurement.Domain != dsDomain || item.Measurement.Verdict.Method != "dns" {
		t.Errorf("raw = %+v", item)
	}
}

func TestCellPageOfAGap(t *testing.T) {
	srv, _ := serveStack(t, "")
	_, body := get(t, client(t), srv.URL+cellHref(dsDomain, tsel, tselGap[0], tselGap[1]))
	mustContain(t, body, `No measurements of t.me on Telkomsel in this range: a gap in coverage.`)
}

func TestCellAndRawErrors(t *testing.T) {
	srv, _ := serveStack(t, "")
	tests := []struct {
		path string
		code int
		msg  string
	}{
		{"/cell?domain=t.me&from=2017-07-14&to=2017-07-15", 400, "network: required"},
		{"/cell?domain=t.me&network=Telkomsel&from=x&to=2017-07-15", 400, `from: &#34;x&#34; is neither a date`},
		{"/cell?domain=t.me%3Bdrop&network=Telkomsel&from=2017-07-14&to=2017-07-15", 400, `domain: &#34;t.me;drop&#34; may hold only letters`},
		{"/cell?domain=t.me&network=Telkomsel&from=2017-07-14&to=2017-07-15&cursor=zz", 400, `cursor: &#34;zz&#34; is not a cursor`},
		{"/raw?domain=t.me&network=Telkomsel&probe=tsel-1&at=2017-07-14T00:00:00Z", 400, "id: required"},
		{"/raw?domain=t.me&network=Telkomsel&probe=tsel-1&at=2017-07-14T00:00:00Z&id=abc", 404, `id: no measurement &#34;abc&#34; of t.me on Telkomsel by tsel-1 at 2017-07-14T00:00:00Z`},
	}
	for _, tt := range tests {
		code, body := get(t, client(t), srv.URL+tt.path)
		if code != tt.code || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d, want %d with %q:\n%s", tt.path, code, tt.code, tt.msg, body)
		}
	}
}

func TestOrdersPages(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	code, body := get(t, c, srv.URL+"/orders")
	if code != http.StatusOK {
		t.Fatalf("orders: %d", code)
	}
	mustContain(t, body, `<a href="/orders/test-block">test-block</a>`, `<span class="badge c-non-compliant" data-status="non-compliant">non-compliant</span>`)

	code, body = get(t, c, srv.URL+"/orders/test-block?at=2017-07-20")
	if code != http.StatusOK {
		t.Fatalf("order: %d", code)
	}
	mustContain(t, body, `<h2>Compliance now (20 Jul 2017 00:00 UTC): <span id="overall" class="badge c-non-compliant" data-status="non-compliant">non-compliant</span></h2>`,
		`<tbody data-network="Telkomsel" data-status="compliant">`,
		`<tr class="domain-row" data-domain="t.me" data-status="compliant"><td><a href="/?domain=t.me&amp;from=2017-07-07&amp;step=6h&amp;to=2017-08-04">t.me</a></td><td><span class="badge c-compliant">compliant</span></td><td><span class="badge s-blocked">blocked</span></td><td title="14 Jul 2017 00:00 UTC">0s</td><td>100.0%</td><td>144 / 144</td>`,
		`<a href="/cell?domain=t.me&amp;from=2017-07-15T00%3A00%3A00Z&amp;network=Indosat&#43;Ooredoo&amp;to=2017-07-20T00%3A00%3A00Z">240</a>`,
		`Counter-evidence on Indosat Ooredoo: 10 of 240, newest first`)

	code, body = get(t, c, srv.URL+"/orders/test-block?at=2017-07-19")
	if code != http.StatusOK {
		t.Fatalf("order in the past: %d", code)
	}
	mustContain(t, body, `<h2>Compliance as of 19 Jul 2017 00:00 UTC: `)

	code, body = get(t, c, srv.URL+"/orders/test-block?at=2017-01-01")
	if code != http.StatusBadRequest || !strings.Contains(body, "at: 2017-01-01T00:00:00Z is more than 168h0m0s before the order took effect (2017-07-14T00:00:00Z)") {
		t.Errorf("compliance long before the order: %d\n%s", code, body)
	}

	code, body = get(t, c, srv.URL+"/orders/nope")
	if code != http.StatusNotFound || !strings.Contains(body, "order: no order &#34;nope&#34;") {
		t.Errorf("unknown order: %d\n%s", code, body)
	}
}

// TestOrderSourceLinks: a seed order's sources ("Outlet, date: URL") link to their URL
// alone; html/template would refuse the whole text as a URL (#ZgotmplZ).
func TestOrderSourceLinks(t *testing.T) {
	srv, _ := serveStack(t, "")
	code, body := get(t, client(t), srv.URL+"/orders/kominfo-2017-telegram-block?at=2017-07-20")
	if code != http.StatusOK {
		t.Fatalf("order: %d\n%s", code, body)
	}
	mustContain(t, body,
		`<li><a href="https://opera.liputan6.com/tekno/read/3023074/ini-11-subdomain-telegram-yang-diblokir-kemkominfo" rel="noreferrer">Liputan6, 14 Jul 2017: https://opera.liputan6.com/tekno/read/3023074/ini-11-subdomain-telegram-yang-diblokir-kemkominfo</a></li>`,
		`<li><a href="http://internetsehat.id/2017/07/kementerian-komunikasi-dan-informatika-blokir-telegram/" rel="noreferrer">`)
	if strings.Contains(body, "ZgotmplZ") {
		t.Errorf("a source link was refused by html/template:\n%s", body)
	}
	for _, tc := range []struct {
		source string
		want   template.URL
	}{
		{"Gazette: https://example.org/a?b=1&c=2", "https://example.org/a?b=1&c=2"},
		{"javascript:alert(1)", ""},
		{"Kompas, print edition", ""},
	} {
		if got := sourceURL(tc.source); got != tc.want {
			t.Errorf("sourceURL(%q) = %q, want %q", tc.source, got, tc.want)
		}
	}
}

func TestHeadersStaticAndNotFound(t *testing.T) {
	// The dashboard alone: it leaves /api/ to the report API.
	s := newStack(t)
	srv := serve(t, s.svc, s.st, "")
	c := client(t)
	resp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", resp.Header)
	}
	code, css := get(t, c, srv.URL+"/static/style.css")
	if code != http.StatusOK || !strings.Contains(css, "--blocked: #D55E00") {
		t.Errorf("style.css: %d", code)
	}
	for _, p := range []string{"/api/v1/timeline", "/nope", "/admin/", "/admin/login"} {
		if code, _ := get(t, c, srv.URL+p); code != http.StatusNotFound {
			t.Errorf("%s: %d; want 404", p, code)
		}
	}
}

// TestReplacedOrderPage: the block order asked for after its lift is judged in its last
// second, and the page says which order replaced it, in either language.
func TestReplacedOrderPage(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	for lang, want := range map[string]string{
		"en": `<p class="note" id="superseded"><a href="/orders/kominfo-2017-telegram-unblock?lang=en">Order kominfo-2017-telegram-unblock replaced this one: it is judged as it stood in its last second, before that order took effect.</a></p>`,
		"id": `<p class="note" id="superseded"><a href="/orders/kominfo-2017-telegram-unblock?lang=id">Perintah kominfo-2017-telegram-unblock menggantikan perintah ini: kepatuhannya dinilai pada detik terakhir sebelum perintah itu berlaku.</a></p>`,
	} {
		code, body := get(t, c, srv.URL+"/orders/kominfo-2017-telegram-block?at=2017-09-01&lang="+lang)
		if code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", lang, code, body)
		}
		mustContain(t, body, want)
	}
	_, body := get(t, c, srv.URL+"/orders/kominfo-2017-telegram-block?at=2017-07-20&lang=en")
	if strings.Contains(body, `id="superseded"`) {
		t.Error("the block order before its lift says it was replaced")
	}
}
