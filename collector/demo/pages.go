package demo

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Page is a dashboard page the demo's address list names.
type Page struct{ What, Path string }

// Pages are the dashboard's views of the data set worth opening first.
func Pages() []Page {
	span := url.Values{"from": {Start.Format(time.DateOnly)}, "to": {End.Add(-time.Hour).Format(time.DateOnly)}, "step": {"6h"}}
	heat := func(d string) string {
		q := url.Values{"domain": {d}}
		for k, v := range span {
			q[k] = v
		}
		return "/?" + q.Encode()
	}
	return []Page{
		{"heatmap of t.me", heat("t.me")},
		{"heatmap of web.telegram.org", heat("web.telegram.org")},
		{"orders", "/orders"},
		{"the block's compliance before the lift", "/orders/" + BlockOrder + "?at=" + LiftEffective.Add(-12*time.Hour).Format(time.RFC3339)},
		{"the lift's compliance", "/orders/" + LiftOrder + "?at=" + End.Format(time.RFC3339)},
	}
}

var rawLink = regexp.MustCompile(`href="(/raw\?[^"]+)"`)

// pages checks that every kind of dashboard page carries the simulated notice: the
// search page, the heatmaps, the orders and their compliance, a cell's measurements and
// an error page; and that a raw measurement (the cell's first link) names its simulated
// software and probe.
func (ch *checker) pages() {
	paths := []string{"/"}
	for _, p := range Pages() {
		paths = append(paths, p.Path)
	}
	cell := "/cell?" + url.Values{"domain": {"t.me"}, "network": {"Telkomsel"},
		"from": {"2017-07-20T00:00:00Z"}, "to": {"2017-07-20T06:00:00Z"}}.Encode()
	paths = append(paths, cell)
	for _, p := range paths {
		b, ok := ch.get(p)
		if !ok {
			continue
		}
		ch.noticeOn(p, b)
		if p == cell {
			m := rawLink.FindSubmatch(b)
			if m == nil {
				ch.fail("GET %s: no link to a raw measurement", p)
				continue
			}
			raw := html.UnescapeString(string(m[1]))
			// A raw measurement is JSON, not a page: the software and the probe say
			// it is simulated.
			if rb, ok := ch.get(raw); ok && (!strings.Contains(string(rb), `"software":{"name":"`+SoftwareName+`"`) ||
				!strings.Contains(string(rb), `"`+ProbePrefix)) {
				ch.fail("GET %s: the raw measurement does not name the software %q and a %s probe: %.300s", raw, SoftwareName, ProbePrefix, rb)
			}
		}
	}
	req, err := http.NewRequestWithContext(ch.ctx, http.MethodGet, ch.base+"/orders/no-such-order", nil)
	if err != nil {
		ch.fail("%v", err)
		return
	}
	resp, err := ch.c.Do(req)
	if err != nil {
		ch.fail("GET /orders/no-such-order: %v", err)
		return
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = io.Copy(&sb, resp.Body)
	if resp.StatusCode != http.StatusNotFound {
		ch.fail("GET /orders/no-such-order: HTTP %d, want 404", resp.StatusCode)
	}
	ch.noticeOn("/orders/no-such-order", []byte(sb.String()))
}

func (ch *checker) noticeOn(path string, body []byte) {
	s := string(body)
	if !strings.Contains(s, "Simulated data.") || !strings.Contains(s, NoticeMark) {
		ch.fail("GET %s: no simulated-data notice on the page", path)
	}
}
