package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCataloguesMatch: both catalogues hold the same messages, and every message a
// template asks for is in them.
func TestCataloguesMatch(t *testing.T) {
	keys := map[string][]string{}
	for _, lang := range []string{"en", "id"} {
		b, err := localeFS.ReadFile("locales/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s.json: %v", lang, err)
		}
		keys[lang] = slices.Sorted(maps.Keys(m))
	}
	if !slices.Equal(keys["en"], keys["id"]) {
		t.Errorf("catalogues differ:\nen %q\nid %q", keys["en"], keys["id"])
	}
	used := regexp.MustCompile(`\.T "([a-z0-9.-]+)"`)
	files, _ := templateFS.ReadDir("templates")
	for _, f := range files {
		b, _ := templateFS.ReadFile("templates/" + f.Name())
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(keys["en"], m[1]) {
				t.Errorf("%s asks for %q, which no catalogue has", f.Name(), m[1])
			}
		}
	}
}

// TestPagesInBothLanguages: each page in Indonesian (Accept-Language), in English when
// ?lang=en overrides it, and in English for a language the dashboard does not have.
func TestPagesInBothLanguages(t *testing.T) {
	srv, _ := serveStack(t, adminToken)
	pages := []struct {
		path   string
		en, id []string
	}{
		{"/", []string{`<h1>Heatmap</h1>`, `>Orders</a>`, `<b>blocked</b>: blocked on this network`},
			[]string{`<h1>Peta panas</h1>`, `>Perintah</a>`, `<b>diblokir</b>: diblokir di jaringan ini`, `<b>tanpa cakupan</b>`}},
		{"/?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d", []string{`title="July 2017">July 2017</th>`, `1 of 2 networks complied; 1 did not: Indosat Ooredoo.`, `Download:`},
			[]string{`title="Juli 2017">Juli 2017</th>`, `1 dari 2 jaringan patuh; 1 tidak: Indosat Ooredoo.`, `Unduh:`, `title="Telkomsel 14 Jul 2017 00.00–24.00 UTC: diblokir (dns) 1 hari"`, `<span class="now s-blocked" title="status saat ini">diblokir</span>`}},
		{"/cell?domain=t.me&network=Telkomsel&from=2017-07-14T00:00:00Z&to=2017-07-14T06:00:00Z", []string{`<h1>t.me on Telkomsel</h1>`, `<td>14 Jul 2017 05:20:00 UTC</td>`, `<span class="badge s-blocked">blocked</span> 12`},
			[]string{`<h1>t.me di Telkomsel</h1>`, `<td>14 Jul 2017 05.20.00 UTC</td>`, `<span class="badge s-blocked">diblokir</span> 12`, `Paket bukti`}},
		{"/orders", []string{`<h1>Orders</h1>`, `>non-compliant</span>`}, []string{`<h1>Perintah</h1>`, `>tidak patuh</span>`, `<th scope="col">Otoritas</th>`}},
		{"/orders/kominfo-2017-telegram-block?at=2017-07-20", []string{`<dd id="effective">14 Jul 2017 00:00 WIB (13 Jul 17:00 UTC), grace 2d</dd>`},
			[]string{`<dd id="effective">14 Jul 2017 00.00 WIB (13 Jul 17.00 UTC), masa tenggang 2 hari</dd>`, `Kepatuhan saat ini (20 Jul 2017 07.00 WIB (00.00 UTC))`}},
		{"/orders/test-block?at=2017-07-20", []string{`<td>100.0%</td>`, `Detail: 2 rows, non-compliant first`},
			[]string{`<td>100,0%</td>`, `Rincian: 2 baris, yang tidak patuh lebih dulu`, `<i>semua domain</i>`}},
		{"/admin/login", []string{`<h1>Admin login</h1>`}, []string{`<h1>Masuk admin</h1>`, `Token admin`}},
		{"/nope", []string{`<h1>Error 404</h1>`}, []string{`<h1>Kesalahan 404</h1>`}},
	}
	c := client(t)
	fetch := func(path, accept string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Language", accept)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, body := readBody(t, resp)
		return body
	}
	for _, p := range pages {
		sep := "?"
		if strings.Contains(p.path, "?") {
			sep = "&"
		}
		for _, tc := range []struct {
			name, path, accept, lang string
			want                     []string
		}{
			{"Accept-Language id", p.path, "id-ID,id;q=0.9,en;q=0.5", "id", p.id},
			{"?lang=en overrides", p.path + sep + "lang=en", "id-ID,id;q=0.9", "en", p.en},
			{"unknown: English", p.path, "fr-FR,fr;q=0.9", "en", p.en},
			{"?lang=id", p.path + sep + "lang=id", "", "id", p.id},
		} {
			t.Run(p.path+" "+tc.name, func(t *testing.T) {
				body := fetch(tc.path, tc.accept)
				mustContain(t, body, append([]string{`<html lang="` + tc.lang + `">`}, tc.want...)...)
			})
		}
	}
	// The language picked in the URL stays in the links; the switch offers the other.
	body := fetch("/orders?lang=id", "")
	mustContain(t, body, `<a href="/orders/test-block?lang=id">test-block</a>`, `<a href="/orders?lang=en" hreflang="en" lang="en">EN</a>`)
}

func TestNumbersAndDurations(t *testing.T) {
	en, id := testLoc(t, "en", "UTC"), testLoc(t, "id", "UTC")
	d := 50*time.Hour + 30*time.Minute
	for _, tc := range []struct{ got, want string }{
		{en.Num(1234567), "1,234,567"}, {id.Num(1234567), "1.234.567"},
		{en.Percent(0.125, 8), "12.5%"}, {id.Percent(0.125, 8), "12,5%"}, {id.Percent(0, 0), "—"},
		{en.Dur(d), "2d 2h"}, {id.Dur(d), "2 hari 2 jam"}, {id.Dur(90 * time.Second), "1 menit"}, {en.Dur(-time.Hour), "−1h"},
		{en.Date(h0), "14 July 2017"}, {id.Date(h0), "14 Juli 2017"}, {id.Date(h0.AddDate(0, 1, 0)), "14 Agustus 2017"},
		{en.Time(h0), "14 Jul 2017 00:00 UTC"}, {id.TimeSec(h0.Add(90 * time.Second)), "14 Jul 2017 00.01.30 UTC"}, {en.TimeSec(h0.Add(90 * time.Second)), "14 Jul 2017 00:01:30 UTC"}, {id.In(time.FixedZone("WITA", 8*3600)).Time(h0), "14 Jul 2017 08.00 WITA (00.00 UTC)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}

// TestReaderZone: ?tz= shows the heatmap and the cell page in the reader's zone, with
// day cells from midnight there; without it (and without the browser's script), UTC.
func TestReaderZone(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	code, body := get(t, c, srv.URL+"/?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d&tz=Asia/Jakarta")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, `data-from="2017-07-09T17:00:00Z"`, `title="Telkomsel 15 Jul 2017 00:00–24:00 WIB: blocked (dns) 1d"`,
		`Times are in Asia/Jakarta, with UTC beside them.`, `<script src="/static/tz.js"></script>`,
		`href="/cell?domain=t.me&amp;from=2017-07-14T17%3A00%3A00Z&amp;network=Telkomsel&amp;to=2017-07-15T17%3A00%3A00Z&amp;tz=Asia%2FJakarta"`,
		`<input type="hidden" name="tz" value="Asia/Jakarta">`)
	_, body = get(t, c, srv.URL+"/cell?domain=t.me&network=Telkomsel&from=2017-07-14T00:00:00Z&to=2017-07-14T06:00:00Z&tz=Asia/Jakarta")
	mustContain(t, body, `<td>14 Jul 2017 07:00:00 WIB (00:00 UTC)</td><td>tsel-1</td>`)
	_, body = get(t, c, srv.URL+"/?domain=t.me&from=2017-07-10&to=2017-07-19&step=1d")
	mustContain(t, body, `data-from="2017-07-10T00:00:00Z"`, `Times are UTC.`)
	code, body = get(t, c, srv.URL+"/cell?domain=t.me&network=Telkomsel&from=2017-07-14&to=2017-07-14&tz=../../etc/passwd")
	if code != http.StatusBadRequest || !strings.Contains(body, "is not a time zone name such as Asia/Jakarta") {
		t.Errorf("bad tz: %d\n%s", code, body)
	}
}
