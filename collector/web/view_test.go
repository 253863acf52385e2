package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

var (
	markRowRE = regexp.MustCompile(`<tr class="marks">.*</tr>`)
	markTdRE  = regexp.MustCompile(`<td colspan="(\d+)"(?: class="mark mk-(\w+)")?>(?:<span title="([^"]*)")?`)
	rowRE     = regexp.MustCompile(`<tr data-network="([^"]+)">.*`)
	tdRE      = regexp.MustCompile(`<td(?: class="mk-(\w+)")?><a class="cell`)
)

// markCols returns "column:kind title" for each marker of the marker row.
func markCols(body string) []string {
	var out []string
	col := 0
	for _, m := range markTdRE.FindAllStringSubmatch(markRowRE.FindString(body), -1) {
		if m[2] != "" {
			out = append(out, fmt.Sprintf("%d:%s %s", col, m[2], m[3]))
		}
		n, _ := strconv.Atoi(m[1])
		col += n
	}
	return out
}

// TestOrderMarkers: the orders naming t.me are marked in the column holding their
// effective time (▼ above, a line in every row) and their due time.
func TestOrderMarkers(t *testing.T) {
	srv, _ := serveStack(t, "")
	_, body := get(t, client(t), heatmapURL(srv.URL))
	got := strings.Join(markCols(body), "\n")
	// Day columns from 10 July: the seed order took effect 14 July 00:00 WIB (13 July
	// 17:00 UTC, column 3), due two days later; test-block 14 July 00:00 UTC, grace 1d.
	want := strings.Join([]string{
		"3:eff Order kominfo-2017-telegram-block took effect 14 Jul 2017 00:00 WIB (13 Jul 17:00 UTC)",
		"4:eff Order test-block took effect 14 Jul 2017 00:00 UTC",
		"5:due Order kominfo-2017-telegram-block due 16 Jul 2017 00:00 WIB (15 Jul 17:00 UTC); Order test-block due 15 Jul 2017 00:00 UTC",
	}, "\n")
	if got != want {
		t.Errorf("markers:\n%s\nwant:\n%s", got, want)
	}
	for _, row := range rowRE.FindAllStringSubmatch(body, -1) {
		var marks []string
		for i, m := range tdRE.FindAllStringSubmatch(row[0], -1) {
			if m[1] != "" {
				marks = append(marks, fmt.Sprintf("%d:%s", i, m[1]))
			}
		}
		if strings.Join(marks, " ") != "3:eff 4:eff 5:due" {
			t.Errorf("%s: marked cells %q; want 3:eff 4:eff 5:due", row[1], marks)
		}
	}
	// In the reader's zone the seed order takes effect at the start of a day column.
	_, body = get(t, client(t), heatmapURL(srv.URL)+"&tz=Asia/Jakarta&lang=id")
	mustContain(t, body, `Perintah kominfo-2017-telegram-block berlaku 14 Jul 2017 00.00 WIB (13 Jul 17.00 UTC)`)
	if got := markCols(body); len(got) == 0 || !strings.HasPrefix(got[0], "4:eff") {
		t.Errorf("markers in WIB: %q; want the seed order in column 4 (14 July WIB)", got)
	}
}

func TestSummaries(t *testing.T) {
	net := func(name string, st orders.Status, domains ...orders.DomainReport) orders.NetworkReport {
		return orders.NetworkReport{Network: name, Status: st, Domains: domains}
	}
	dom := func(d string, st orders.Status) orders.DomainReport {
		return orders.DomainReport{Domain: d, Status: st}
	}
	var nets []orders.NetworkReport
	for i := range 7 {
		nets = append(nets, net(fmt.Sprintf("Net %d", i), orders.Compliant, dom("t.me", orders.Compliant)))
	}
	nets = append(nets[:3], append([]orders.NetworkReport{net("XL Axiata", orders.NonCompliant, dom("t.me", orders.Compliant), dom("web.telegram.org", orders.NonCompliant))}, nets[3:]...)...)
	nets = append(nets, net("Indosat", orders.NonCompliant, dom("t.me", orders.NonCompliant)), net("Smartfren", orders.Pending), net("Tri", orders.Unknown))
	rep := orders.Report{Networks: nets}
	en, id := testLoc(t, "en", "UTC"), testLoc(t, "id", "UTC")
	for _, tc := range []struct {
		l      *loc
		domain string
		want   string
	}{
		{en, "", "7 of 11 networks complied; 2 did not: XL Axiata, Indosat. 1 still in their grace period. 1 without coverage."},
		{id, "", "7 dari 11 jaringan patuh; 2 tidak: XL Axiata, Indosat. 1 masih dalam masa tenggang. 1 tanpa cakupan."},
		{en, "t.me", "8 of 9 networks complied; 1 did not: Indosat."},
		{id, "web.telegram.org", "0 dari 1 jaringan patuh; 1 tidak: XL Axiata."},
	} {
		if got := tc.l.Summary(summarize(rep, tc.domain)); got != tc.want {
			t.Errorf("summary %q: %q; want %q", tc.domain, got, tc.want)
		}
	}
	sortReport(&rep)
	var order []string
	for _, n := range rep.Networks {
		order = append(order, n.Network)
	}
	if got := strings.Join(order[:4], ", "); got != "XL Axiata, Indosat, Tri, Smartfren" {
		t.Errorf("sorted: %s; want the non-compliant, then unknown, then pending first", got)
	}
	if rep.Networks[0].Domains[0].Domain != "web.telegram.org" {
		t.Errorf("XL Axiata's domains: %v; want the non-compliant first", rep.Networks[0].Domains)
	}
}

// TestOrderPageSummaryAndDetail: a summary line above the detail, which folds and lists
// the non-compliant network first.
func TestOrderPageSummaryAndDetail(t *testing.T) {
	srv, _ := serveStack(t, "")
	_, body := get(t, client(t), srv.URL+"/orders/test-block?at=2017-07-20&lang=id")
	mustContain(t, body, `<p class="summary" id="summary">1 dari 2 jaringan patuh; 1 tidak: Indosat Ooredoo.</p>`,
		`<details class="detail" id="detail" open>`)
	if i, j := strings.Index(body, `<tbody data-network="Indosat Ooredoo"`), strings.Index(body, `<tbody data-network="Telkomsel"`); i < 0 || j < i {
		t.Errorf("Indosat Ooredoo (non-compliant) at %d, Telkomsel (compliant) at %d: want the non-compliant first", i, j)
	}
	if i, j := strings.Index(body, `id="summary"`), strings.Index(body, `id="detail"`); j < i {
		t.Error("the summary is not above the detail")
	}
}

func TestHeatmapDownloads(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	q := "?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d"
	_, page := get(t, c, srv.URL+"/"+q)
	mustContain(t, page, `<a href="/heatmap.csv?domain=t.me&amp;from=2017-07-10T00%3A00%3A00Z&amp;step=1d&amp;to=2017-07-20T00%3A00%3A00Z" download>CSV</a>`)

	resp, err := c.Get(srv.URL + "/heatmap.csv" + q)
	if err != nil {
		t.Fatal(err)
	}
	_, body := readBody(t, resp)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 1+2*10 {
		t.Fatalf("CSV: %v, %d records:\n%s", err, len(recs), body)
	}
	if got := strings.Join(recs[0], ","); got != "domain,network,asn,from,to,state,method,partial,accessible_s,blocked_s,down_s,inconclusive_s,unknown_s,gap_s" {
		t.Errorf("CSV header %s", got)
	}
	if got := strings.Join(recs[15], ","); got != "t.me,Telkomsel,23693,2017-07-14T00:00:00Z,2017-07-15T00:00:00Z,blocked,dns,false,0,86400,0,0,0,0" {
		t.Errorf("CSV Telkomsel 14 July: %s", got)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="t.me_2017-07-10_2017-07-20_1d.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}

	resp, err = c.Get(srv.URL + "/heatmap.json" + q)
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Step string
		Rows []struct {
			Network string
			ASN     uint32
			Cells   []struct {
				State   string
				Seconds map[string]int64
			}
		}
		Orders []struct{ ID string }
	}
	err = json.NewDecoder(resp.Body).Decode(&js)
	resp.Body.Close()
	if err != nil || js.Step != "1d" || len(js.Rows) != 2 || len(js.Rows[1].Cells) != 10 || len(js.Orders) != 2 {
		t.Fatalf("JSON: %v %+v", err, js)
	}
	if r := js.Rows[1]; r.Network != tsel || r.ASN != 23693 || r.Cells[7].State != "gap" || r.Cells[7].Seconds["gap"] != 86400 {
		t.Errorf("JSON Telkomsel row: %+v", r)
	}

	resp, err = c.Get(srv.URL + "/heatmap.png" + q)
	if err != nil {
		t.Fatal(err)
	}
	_, body = readBody(t, resp)
	img, err := png.Decode(strings.NewReader(body))
	if err != nil || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("PNG: %v (%s)", err, resp.Header.Get("Content-Type"))
	}
	w, h := pngSize(2, 10)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h || w != 200+10*24+1 || h != 20+2*20+1 {
		t.Errorf("PNG %v; want %dx%d", b, w, h)
	}
	// Telkomsel's cell of 14 July (row 2, column 4) is blocked; its 17 July is a gap.
	cell := func(row, col int) (int, int) { return pngLeft + col*24 + 12, pngTop + row*pngRow + 10 }
	if x, y := cell(1, 4); !near(img.At(x, y), blockedRGB, 0) {
		t.Errorf("PNG Telkomsel 14 July: %v; want the blocked colour", img.At(x, y))
	}
	if x, y := cell(0, 0); !near(img.At(x, y), accessibleRGB, 0) {
		t.Errorf("PNG Indosat 10 July: %v; want the accessible colour", img.At(x, y))
	}
}

// TestCellDownloads: the cell page's measurements, as CSV and JSON.
func TestCellDownloads(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	cq := "/cell?domain=t.me&network=Telkomsel&from=2017-07-14T00:00:00Z&to=2017-07-14T06:00:00Z"
	_, body := get(t, c, srv.URL+cq+"&format=csv")
	if recs, err := csv.NewReader(strings.NewReader(body)).ReadAll(); err != nil || len(recs) != 13 || recs[1][5] != "pantau" || recs[1][6] != "blocked" {
		t.Errorf("cell CSV: %v\n%s", err, body)
	}
	_, body = get(t, c, srv.URL+cq+"&format=json")
	var items []rawItem
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 12 || items[0].Probe.Network != tsel {
		t.Errorf("cell JSON: %v, %d items", err, len(items))
	}
	if code, _ := get(t, c, srv.URL+cq+"&format=xml"); code != http.StatusBadRequest {
		t.Errorf("format=xml: %d", code)
	}
}

// TestYearRange: a year is shown (day cells, fetched in pieces of at most 90 days) and
// agrees, day for day, with the 10-day heatmap.
func TestYearRange(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	code, body := get(t, c, srv.URL+"/?domain=t.me&from=2016-07-20&to=2017-07-19&step=1d")
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	// 10 July is partly a gap here (the probes were silent before it), not in the
	// 10-day heatmap, which starts with it.
	var got, want []string
	for _, cl := range cellClasses(body) {
		if day := cl[strings.Index(cl, " 20")+1:][:10]; day > "2017-07-10" {
			got = append(got, cl)
		} else if day == "2017-07-10" && !strings.Contains(cl, "s-accessible") {
			t.Errorf("year heatmap: %s; want accessible", cl)
		}
	}
	for _, cl := range wantCells {
		if !strings.Contains(cl, "2017-07-10") {
			want = append(want, cl)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("year heatmap, 11 to 19 July:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(cellClasses(body)); n != 2*365 {
		t.Errorf("%d cells; want 730", n)
	}
	if n := strings.Count(body, `data-month=`); n != 13 {
		t.Errorf("%d month heads; want 13", n)
	}
	// Hourly cells for a year are too many: the heatmap says it shows day cells.
	code, body = get(t, c, srv.URL+"/?domain=t.me&from=2016-07-20&to=2017-07-19&step=1h&lang=id")
	mustContain(t, body, `Rentang ini terlalu panjang untuk sel 1h: ditampilkan dalam sel 1d.`, `<option value="1d" selected>`)
	if code != http.StatusOK || len(cellClasses(body)) != 2*365 {
		t.Errorf("a year in hourly cells: %d, %d cells", code, len(cellClasses(body)))
	}
}

func TestEmbed(t *testing.T) {
	q := "/embed?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d"
	for _, tc := range []struct {
		name      string
		opts      []Option
		ancestors string
		xfo       string
	}{
		{"off by default", nil, "frame-ancestors 'none'", "DENY"},
		{"configured", []Option{WithFrameAncestors([]string{"https://news.example", "'self'"})}, "frame-ancestors https://news.example 'self'", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := serveStack(t, "", append(tc.opts, WithSimulated("Generated by collector demo."))...)
			c := client(t)
			req, _ := http.NewRequest("GET", srv.URL+q, nil)
			req.Header.Set("Accept-Language", "id")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			code, body := readBody(t, resp)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, "; "+tc.ancestors) || resp.Header.Get("X-Frame-Options") != tc.xfo {
				t.Errorf("CSP %q, X-Frame-Options %q; want %q, %q", csp, resp.Header.Get("X-Frame-Options"), tc.ancestors, tc.xfo)
			}
			mustContain(t, body, `<body class="embedded">`, `id="heatmap"`, `&amp;to=2017-07-15T00%3A00%3A00Z" target="_blank" title="Telkomsel 14 Jul 2017 00.00–24.00 UTC: diblokir (dns) 1 hari"`, `<strong>Data simulasi.</strong> Generated by collector demo.`, `id="downloads"`)
			if strings.Contains(body, `id="nav"`) || len(cellClasses(body)) != 20 {
				t.Errorf("embed has the menu, or %d cells", len(cellClasses(body)))
			}
			// Every other page stays unframeable.
			resp, err = c.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			_, home := readBody(t, resp)
			if !strings.HasSuffix(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("home page headers %v", resp.Header)
			}
			mustContain(t, home, `<strong>Simulated data.</strong>`)
			hasCode := strings.Contains(home, `id="embed-code"`)
			_, page := get(t, c, srv.URL+"/?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d")
			if hasCode = strings.Contains(page, `id="embed-code"`); hasCode != (tc.xfo == "") {
				t.Errorf("embed code offered: %v", hasCode)
			}
		})
	}
}

// TestOONILabel: measurements imported from OONI (probe IDs "ooni/…") are labelled so on
// the cell page, the order's counter-evidence and the probes page, in both languages.
func TestOONILabel(t *testing.T) {
	srv, s := serveStack(t, "")
	at := dsBlock.Add(2*time.Hour + 7*time.Minute)
	v := measurement.Verdict{Status: "accessible", Reason: "ok", Evidence: []string{}}
	p := store.Identity{Probe: "ooni/AS23693", Network: tsel, Country: "ID", ASN: 23693}
	m := measured(dsDomain, at, v)
	m.Source = measurement.SourceOONI
	if err := s.st.Write(testCtx(t), []store.Item{{M: m, Probe: p, ReceivedAt: at.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	cq := "/cell?domain=t.me&network=Telkomsel&from=2017-07-14T00:00:00Z&to=2017-07-14T06:00:00Z"
	_, body := get(t, c, srv.URL+cq)
	mustContain(t, body, `<td>ooni/AS23693 <small class="ooni badge">imported from OONI</small></td>`)
	if n := strings.Count(body, "imported from OONI"); n != 1 {
		t.Errorf("%d OONI labels; want 1", n)
	}
	_, body = get(t, c, srv.URL+cq+"&lang=id")
	mustContain(t, body, `<small class="ooni badge">diimpor dari OONI</small>`)
	_, body = get(t, c, srv.URL+cq+"&format=csv")
	mustContain(t, body, ",ooni/AS23693,Telkomsel,23693,ooni,accessible,")

	f := probesFleet(true)
	f.beats = append(f.beats, store.LatestBeat{Identity: store.Identity{Probe: "ooni/AS7713", Network: "Telkom Indonesia", Country: "ID", ASN: 7713}, At: testNow.Add(-time.Minute), Version: "v1.2.0"})
	base := serveProbes(t, f)
	_, body = get(t, c, base+"/probes?lang=id")
	mustContain(t, body, `<td>ooni/AS7713 <small class="ooni badge">diimpor dari OONI</small></td>`)
	_, body = get(t, c, base+"/probes?format=csv")
	if recs, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll(); err != nil || len(recs) != 5 || !strings.Contains(body, "ooni/AS7713,ooni,") {
		t.Errorf("probes CSV: %v\n%s", err, body)
	}
}
